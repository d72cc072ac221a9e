"""Two-factor authentication: TOTP devices and recovery codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import selectors, throttle
from accounts.models import RecoveryCode, TotpDevice, User
from accounts.services._core import fields_error, queue_email, throttle_rule, try_again_in
from audit.services import record
from streamsite.errors import Conflict, RateLimited

RECOVERY_CODE_COUNT = 10


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def totp_begin(*, user: User) -> TotpDevice:
    """Start enrolment: a fresh secret, unconfirmed until a code from it is entered."""
    if selectors.two_factor_enabled(user):
        raise Conflict(gettext("Two-factor authentication is already on."))
    device, _ = TotpDevice.objects.update_or_create(
        user=user,
        defaults={"secret": pyotp.random_base32(), "confirmed_at": None, "last_step": 0},
    )
    return device


def _totp_accept(device: TotpDevice, code: str, now: datetime) -> bool:
    """Accept a code for the current step (±1 for clock drift) exactly once."""
    code = code.replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(device.secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            # The conditional update is the claim: a replay (same or older step) matches 0 rows.
            return (
                TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step)
                == 1
            )
    return False


@transaction.atomic
def totp_confirm(*, user: User, code: str, now: datetime | None = None) -> list[str]:
    """Confirm enrolment with a first code; returns the recovery codes (shown once)."""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise Conflict(gettext("Start setting up two-factor authentication first."))
    if not _totp_accept(device, code, now or timezone.now()):
        raise fields_error(
            gettext("That code is not right; check your authenticator's clock."), "code"
        )
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=now or timezone.now())
    record(action="account.2fa_enable", obj=user)
    codes = recovery_codes_regenerate(user=user)
    queue_email(user.email, "two_factor_on", language=user.language)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    codes = [
        "-".join(secrets.token_hex(5)[i : i + 5] for i in (0, 5))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=_code_digest(c)) for c in codes]
    )
    record(action="account.2fa_recovery_codes", obj=user)
    return codes


def totp_verify(*, user: User, code: str, now: datetime | None = None) -> None:
    """Check a second-factor code: a TOTP code (never twice) or an unused recovery code."""
    now = now or timezone.now()
    rule = throttle_rule("two_factor")
    ident = str(user.pk)
    wait = throttle.locked_for(rule, ident)
    if wait:
        raise RateLimited(
            try_again_in(gettext("Too many wrong codes."), wait),
            extra={"retry_after": wait},
        )
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise Conflict(gettext("Two-factor authentication is not on."))
    if _totp_accept(device, code, now):
        throttle.reset(rule, ident)
        return
    used = RecoveryCode.objects.filter(
        user=user, digest=_code_digest(code), used_at__isnull=True
    ).update(used_at=now)
    if used == 1:
        throttle.reset(rule, ident)
        return
    throttle.register_failure(rule, ident)
    raise fields_error(gettext("That code is not right or has already been used."), "code")


@transaction.atomic
def totp_disable(*, user: User, password: str) -> None:
    if not user.check_password(password):
        raise fields_error(gettext("Your password is incorrect."), "password")
    deleted, _ = TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    if deleted:
        record(action="account.2fa_disable", obj=user)
        queue_email(user.email, "two_factor_off", language=user.language)
