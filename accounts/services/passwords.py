"""Password changes and resets, and what a new password ends."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext

from accounts import token_cache
from accounts.models import ApiToken, User
from accounts.services._core import fields_error, queue_email, site_link, validate_new_password
from accounts.services.devices import sessions_revoke_all
from accounts.tasks import queue_account_email, send_password_reset
from audit.services import record
from streamsite.errors import ValidationFailed


def _credentials_end(
    *, user: User, keep_session_key: str | None, keep_api_tokens: bool, reset: bool
) -> tuple[int, int]:
    """After a new password: end the other browser sessions and (unless kept) revoke every API
    token, so a stolen session or token dies with the old password; the security email says
    which. Returns the counts."""
    sessions = sessions_revoke_all(user=user, keep_session_key=keep_session_key)
    tokens_revoked = 0
    if not keep_api_tokens:
        tokens_revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token_cache.auth_changed()
    queue_email(
        user.email,
        "password_changed",
        language=user.language,
        sessions_ended=sessions,
        tokens_revoked=tokens_revoked,
        tokens_kept=keep_api_tokens,
        reset=reset,
    )
    return sessions, tokens_revoked


@transaction.atomic
def password_change(
    *,
    user: User,
    old_password: str,
    new_password: str,
    keep_session_key: str | None = None,
    keep_api_tokens: bool = False,
) -> tuple[int, int]:
    """Change the password. Every other session is signed out and, by default, every API token
    revoked; the security email says which. Returns (sessions ended, tokens revoked). The kept
    session must be re-hashed by the caller (update_session_auth_hash)."""
    if not user.check_password(old_password):
        raise fields_error(gettext("Your current password is incorrect."), "old_password")
    validate_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(action="account.password_change", obj=user)
    return _credentials_end(
        user=user, keep_session_key=keep_session_key, keep_api_tokens=keep_api_tokens, reset=False
    )


def password_reset_request(*, email: str) -> None:
    """Queue a reset link for the address. Whether it has an account is looked up by the task,
    not here: the request does the same work (one enqueue) for known and unknown addresses."""
    send_password_reset.delay_on_commit(email=email.strip())  # type: ignore[attr-defined]


def password_reset_send(*, email: str) -> bool:
    """Send a reset link when the address has an active account; returns whether one was sent."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    queue_account_email(
        to=user.email,
        template="password_reset",
        context={"reset_url": site_link("accounts:reset-confirm", uid, token)},
        language=user.language,
    )
    return True


def password_reset_user(*, uidb64: str, token: str) -> User:
    """The user a reset link is for; ValidationFailed when it is invalid or used."""
    try:
        user = User.objects.filter(pk=int(force_str(urlsafe_base64_decode(uidb64)))).first()
    except (ValueError, TypeError, OverflowError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationFailed(gettext("This reset link is invalid or has already been used."))
    return user


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link: every session ends and every API token is revoked
    (whoever knew the old password may hold them); the security email says so."""
    user = password_reset_user(uidb64=uidb64, token=token)
    validate_new_password(new_password, user)
    user.set_password(new_password)
    if user.email_verified_at is None:  # the link proved the address
        user.email_verified_at = timezone.now()
    user.save(update_fields=["password", "email_verified_at"])
    record(action="account.password_reset", obj=user, actor=user)
    _credentials_end(user=user, keep_session_key=None, keep_api_tokens=False, reset=True)
    return user
