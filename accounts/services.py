"""Writes for accounts. Every important change to an account goes through a function here."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken, User
from streamsite.errors import NotFound, ValidationFailed

# last_used_at is written at most this often per token, so reads stay reads.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ValidationFailed("A token needs a name.", extra={"fields": {"name": ["Required."]}})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "The expiry must be in the future.", extra={"fields": {"expires_at": ["In the past."]}}
        )
    plaintext = tokens.generate()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=tokens.display_prefix(plaintext),
        digest=tokens.digest(plaintext),
        expires_at=expires_at,
    )
    return token, plaintext


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens. Revoking twice is harmless; another user's id is 404."""
    token = ApiToken.objects.for_user(user).filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
