"""Idempotency-Key for money-moving API requests (Stripe's semantics).

The request is recorded (key, hash of method, path and body) and committed *before* the work
starts; the work then runs outside any transaction of ours (it calls the gateway), and its
response is stored when done. The same key with the same request replays that response; the
same key with a different request is refused with 422. While a request holds the key (a lease
of BILLING_IDEMPOTENCY_LEASE_SECONDS), a duplicate gets 409 `idempotency_key_in_use` and
retries later; a crashed worker's lease expires and the retry runs the work again with
`resuming=True`. That is safe because the work itself resumes: the pending payment and its
gateway key were committed before the gateway call, so the gateway answers the retry with
the first charge (see docs/billing.md, "The charge protocol"). Server errors (5xx) are not
stored, so they can be retried. Keys are purged after BILLING_IDEMPOTENCY_TTL_HOURS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.models import IdempotencyRecord
from streamsite.errors import Conflict, DomainError, ValidationFailed


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def run_idempotent(
    *,
    account: User,
    key: str,
    method: str,
    path: str,
    body: Any,
    handler: Callable[[bool], tuple[int, Any]],
    now: datetime | None = None,
) -> tuple[int, Any, bool]:
    """Returns (status, body, replayed). `handler(resuming)` does the work; resuming is True
    when an earlier run with this key started and never stored its answer (it crashed)."""
    now = now or clock.now()
    if len(key) > 255 or not key.strip():
        raise ValidationFailed(gettext("Idempotency-Key must be 1 to 255 characters."))
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
    record = IdempotencyRecord.objects.get(account=account, key=key)
    if record.request_hash != digest:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    if record.status_code is not None:
        return record.status_code, record.response_body, True
    # Claim the key: one conditional update, committed before any work.
    lease = now + timedelta(seconds=settings.BILLING_IDEMPOTENCY_LEASE_SECONDS)
    free = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    claimed = (
        IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True)
        .filter(free)
        .update(locked_until=lease, runs=record.runs + 1)
    )
    if claimed != 1:
        record.refresh_from_db()
        if record.status_code is not None:
            return record.status_code, record.response_body, True
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is in progress; retry shortly."
        )
    stored = False
    try:
        status, response = handler(record.runs > 0)
        if status < 500:
            stored = (
                IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).update(
                    status_code=status, response_body=response, locked_until=None
                )
                == 1
            )
            if not stored:
                # A run that took over after our lease expired answered first: one answer.
                record.refresh_from_db()
                return record.status_code or status, record.response_body, True
        return status, response, False
    finally:
        if not stored:
            IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).update(
                locked_until=None
            )


def purge(*, now: datetime | None = None) -> int:
    now = now or clock.now()
    cutoff = now - timedelta(hours=settings.BILLING_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
