"""API tokens: create, revoke, and the throttled last-use write."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import token_cache, token_touch, tokens
from accounts.models import ApiToken, User
from accounts.services._core import fields_error
from audit.services import record
from streamsite.errors import NotFound

# last_used_at is written at most this often per token, so reads stay reads.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise fields_error(gettext("A token needs a name."), "name")
    if expires_at is not None and expires_at <= timezone.now():
        raise fields_error(gettext("The expiry must be in the future."), "expires_at")
    plaintext = tokens.generate()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=tokens.display_prefix(plaintext),
        digest=tokens.digest(plaintext),
        expires_at=expires_at,
    )
    record(action="token.create", obj=token, actor=user, after={"prefix": token.prefix})
    return token, plaintext


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens. Revoking twice is harmless; another user's id is 404."""
    token = ApiToken.objects.for_user(user).filter(pk=token_id).first()
    if token is None:
        raise NotFound(gettext("No such token."))
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record(action="token.revoke", obj=token, after={"prefix": token.prefix})
    token_cache.auth_changed()
    token.refresh_from_db(fields=["revoked_at"])
    return token


def _touch_due(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    """Record that the token was used, at most once per TOKEN_TOUCH_INTERVAL: noted in the
    process and sent in a batch (accounts.token_touch), or written when the cache is not
    Redis."""
    now = now or timezone.now()
    if _touch_due(token, now):
        if not token_touch.note_later(token.pk, now):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # else by the flush
        token.last_used_at = now
