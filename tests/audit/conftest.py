"""Helpers for the audit tests: the rows written, newest last, as comparable tuples."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from tests.billing.conftest import frozen_clock  # noqa: F401  (used by the billing trail tests)


def rows(*, since: int = 0) -> list[tuple]:
    """(action, actor id, object type, object id, before, after) of every row after `since`."""
    return list(
        AuditEntry.objects.filter(pk__gt=since)
        .order_by("pk")
        .values_list("action", "actor_user_id", "object_type", "object_id", "before", "after")
    )


def last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def superuser_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client
