"""Webhook signatures in Stripe's scheme: header `t=<unix>,v1=<hex hmac-sha256 of "t.body">`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext

from streamsite.errors import ValidationFailed


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(payload: bytes, header: str, secret: str, *, now: datetime, tolerance: int) -> None:
    """Raise ValidationFailed unless the header signs the payload within the tolerance."""
    if not secret:
        raise ValidationFailed(
            gettext("Webhook secret is not configured."), code="webhook_unconfigured"
        )
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, OverflowError):
        raise ValidationFailed(
            gettext("Malformed signature header."), code="bad_signature"
        ) from None
    if abs(now.timestamp() - timestamp) > tolerance:
        raise ValidationFailed(
            gettext("Signature timestamp outside the tolerance."), code="stale_signature"
        )
    expected = sign(payload, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise ValidationFailed(gettext("Signature does not match."), code="bad_signature")


# Event dates outside these years are not dates a gateway sends (and `1e20` is not a 500).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def event_time(value: Any) -> datetime:
    """An event's `created` (Unix seconds) as an aware datetime; ValueError when it is not a
    whole number of seconds within a plausible range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError("created must be whole Unix seconds")
    if not EARLIEST.timestamp() <= value < LATEST.timestamp():
        raise ValueError("created is out of range")
    return datetime.fromtimestamp(int(value), tz=UTC)
