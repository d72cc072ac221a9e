"""Signing in: the password check with its throttles, emailed unlock links, known devices."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core import signing
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop, ngettext

from accounts import selectors, throttle
from accounts.models import User
from accounts.services._core import queue_email, site_link, throttle_rule
from accounts.services.registration import email_verification_send
from streamsite.errors import PermissionDenied, RateLimited, Unauthenticated, ValidationFailed

LOGIN_FAILED = gettext_noop("Email or password is incorrect.")
UNLOCK_SALT = "accounts.unlock"
KNOWN_DEVICE_SALT = "accounts.known-device"
# An emailed unlock link works this long, and lets its address in for as long again.
UNLOCK_SECONDS = 15 * 60


def _pair(email_key: str, ip: str) -> str:
    return f"{email_key}|{ip}"


def login_check(
    *,
    request: HttpRequest | None,
    email: str,
    password: str,
    ip: str,
    known_device_user_id: int | None = None,
) -> User:
    """Check credentials, throttled so that an attacker cannot lock the owner out.

    Failures count per (address, client address) with progressive delays (`login_pair`: 5 free,
    then 30 s doubling to 15 min; a locked attempt costs no hash) and per client address across
    addresses (`login_ip`). Per address there is only a ceiling (`login_account`): past it, the
    right password alone still signs in from a known device (`known_device_user_id`, from the
    browser's signed cookie), with a second factor (the caller asks for it when 2FA is on), or
    after an emailed unlock link; otherwise the owner is sent that link (PermissionDenied
    `unlock_required`). Every failure answers the same message whether or not the address
    exists. A correct password for an unverified address sends a fresh link and is refused.
    """
    email_key = email.strip().lower()
    pair_rule, ip_rule, account_rule = (
        throttle_rule("login_pair"),
        throttle_rule("login_ip"),
        throttle_rule("login_account"),
    )
    pair = _pair(email_key, ip)
    wait = max(throttle.locked_for(pair_rule, pair), throttle.locked_for(ip_rule, ip))
    if wait:
        minutes = max(1, (wait + 59) // 60)
        raise RateLimited(
            ngettext(
                "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            extra={"retry_after": wait},
        )
    user = authenticate(request, email=email_key, password=password)
    if user is None:
        throttle.register_failure(pair_rule, pair)
        throttle.register_failure(ip_rule, ip)
        throttle.register_failure(account_rule, email_key)
        raise Unauthenticated(gettext(LOGIN_FAILED), code="invalid_credentials")
    throttle.reset(pair_rule, pair)
    assert isinstance(user, User)
    if user.email_verified_at is None and not user.is_staff:
        email_verification_send(user=user)
        raise PermissionDenied(
            gettext("Please confirm your email address first: we have sent you a new link."),
            code="email_unverified",
        )
    under_pressure = throttle.failures(account_rule, email_key) >= account_rule.limit
    if (
        under_pressure
        and known_device_user_id != user.pk
        and not throttle.marked(pair_rule, pair, "unlocked")
        and not selectors.two_factor_enabled(user)
    ):
        login_unlock_send(user=user, ip=ip)
        raise PermissionDenied(
            gettext(
                "Many failed sign-ins for this account came from elsewhere, so this device must be "
                "confirmed: we have emailed you a link. Follow it, then sign in again."
            ),
            code="unlock_required",
        )
    return user


def login_unlock_send(*, user: User, ip: str) -> None:
    """Email the owner a link that lets the address `ip` sign in past the ceiling."""
    token = signing.dumps({"u": user.pk, "a": ip}, salt=UNLOCK_SALT)
    queue_email(
        user.email,
        "login_unlock",
        language=user.language,
        unlock_url=site_link("accounts:login-unlock", token),
    )


def login_unlock(*, token: str) -> User:
    """Follow an emailed unlock link: its address may sign in past the ceiling for a while."""
    try:
        data = signing.loads(token, salt=UNLOCK_SALT, max_age=UNLOCK_SECONDS)
    except signing.BadSignature:
        raise ValidationFailed(
            gettext("This link is invalid or has expired. Sign in again.")
        ) from None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        raise ValidationFailed(gettext("This link is invalid or has expired. Sign in again."))
    pair = _pair(user.email.lower(), str(data.get("a")))
    throttle.reset(throttle_rule("login_pair"), pair)
    throttle.mark(throttle_rule("login_pair"), pair, "unlocked", UNLOCK_SECONDS)
    return user


def known_device_cookie(*, user: User) -> str:
    """The signed value a browser keeps after a sign-in, naming its account (not a secret)."""
    return signing.dumps({"u": user.pk}, salt=KNOWN_DEVICE_SALT)


def known_device_user_id(value: str | None) -> int | None:
    if not value:
        return None
    try:
        data = signing.loads(value, salt=KNOWN_DEVICE_SALT, max_age=365 * 24 * 3600)
    except signing.BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None
