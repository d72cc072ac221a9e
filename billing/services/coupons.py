"""Coupons: redeeming a promotion code and how long it applies."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.models import (
    Coupon,
    Subscription,
)
from billing.services._core import (
    _transition,
    live_subscription,
)
from streamsite.errors import ValidationFailed


def _coupon_applies(sub: Subscription | None) -> Coupon | None:
    if sub is None or sub.coupon_id is None:
        return None
    if sub.coupon_periods_left is not None and sub.coupon_periods_left < 1:
        return None
    return sub.coupon


def _redeem_coupon(code: str, currency: str) -> Coupon | None:
    code = code.strip().upper()
    if not code:
        return None
    coupon = Coupon.objects.filter(code=code, is_active=True).first()
    if coupon is None or (coupon.kind == Coupon.Kind.AMOUNT and coupon.currency != currency):
        raise ValidationFailed(
            gettext("That promotion code is not valid."),
            extra={"fields": {"coupon": [gettext("Invalid.")]}},
        )
    redeemed = (
        Coupon.objects.filter(pk=coupon.pk)
        .filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if not redeemed:
        raise ValidationFailed(
            gettext("That promotion code has been used up."),
            extra={"fields": {"coupon": [gettext("Used up.")]}},
        )
    return coupon


def _coupon_periods(coupon: Coupon | None) -> int | None:
    if coupon is None or coupon.duration == Coupon.Duration.FOREVER:
        return None
    return 1 if coupon.duration == Coupon.Duration.ONCE else coupon.duration_periods


@transaction.atomic
def subscription_apply_coupon(
    *, account: User, code: str, now: datetime | None = None
) -> Subscription:
    """Redeem a promotion code on the live subscription; it applies from the next invoice."""
    now = now or clock.now()
    sub = live_subscription(account, lock=True)
    coupon = _redeem_coupon(code, sub.currency)
    if coupon is None:
        raise ValidationFailed(
            gettext("Enter a promotion code."), extra={"fields": {"coupon": [gettext("Required.")]}}
        )
    _transition(
        sub,
        to=sub.status,
        kind="coupon_applied",
        now=now,
        coupon=coupon,
        coupon_periods_left=_coupon_periods(coupon),
        data={"coupon": coupon.code},
    )
    return sub
