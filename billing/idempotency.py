"""Idempotency-Key for money-moving API requests (Stripe's semantics).

The first request with a key stores a hash of (method, path, body) and, when done, its
response. The same key with the same request replays that response (even while concurrent
requests wait on the row lock); the same key with a different request is refused with 422.
Server errors (5xx) are not stored, so they can be retried. Keys are purged after
BILLING_IDEMPOTENCY_TTL_HOURS (at least 24).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from billing import clock
from billing.models import IdempotencyRecord
from streamsite.errors import DomainError, ValidationFailed


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def run_idempotent(
    *,
    account: Any,
    key: str,
    method: str,
    path: str,
    body: Any,
    handler: Callable[[], tuple[int, Any]],
    now: datetime | None = None,
) -> tuple[int, Any, bool]:
    """Returns (status, body, replayed)."""
    now = now or clock.now()
    if len(key) > 255 or not key.strip():
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters.")
    digest = request_hash(method, path, body)
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                account=account,
                key=key,
                method=method,
                path=path,
                request_hash=digest,
                created_at=now,
            )
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().get(account=account, key=key)
        if record.request_hash != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request.",
            )
        if record.status_code is not None:
            return record.status_code, record.response_body, True
        status, response = handler()
        if status < 500:
            record.status_code = status
            record.response_body = response
            record.save(update_fields=["status_code", "response_body"])
        return status, response, False


def purge(*, now: datetime | None = None) -> int:
    now = now or clock.now()
    cutoff = now - timedelta(hours=settings.BILLING_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
