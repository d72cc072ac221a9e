"""Checkout: the first subscription (trial or paid now) and a checkout in flight finished."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.entitlements import invalidate
from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PaymentMethod,
    Plan,
    Subscription,
)
from billing.services._core import (
    S,
    _event,
    _price,
    _transition,
)
from billing.services.cards import (
    payment_method_add,
    payment_method_from_setup,
)
from billing.services.coupons import (
    _coupon_periods,
    _redeem_coupon,
)
from billing.services.invoices import (
    _build_invoice,
    add_interval,
)
from billing.services.payments import (
    _collect_or_decline,
    _open_attempt,
    _pending_payment_of,
)
from streamsite.errors import Conflict, ValidationFailed


def subscription_start(
    *,
    account: User,
    plan_code: str,
    currency: str,
    card_token: str = "",
    setup_intent_id: str = "",
    coupon_code: str = "",
    trial: bool = True,
    now: datetime | None = None,
    resuming: bool = False,
) -> Subscription:
    """Checkout: a trial (card on file, no charge) or a paid first period charged right now.

    A first subscription gets the trial (BILLING_TRIAL_DAYS); reactivating after expiry or
    cancellation does not. A declined first charge leaves the subscription expired (402).
    With setup_intent_id, card_token is the payment method that SetupIntent saved (Stripe's
    browser flow) and is verified with Stripe instead of attached.

    A checkout whose first charge is in flight (`incomplete`, its payment pending because a
    worker died or the gateway did not answer) is finished, not started again: the pending
    payment is collected with its own key. `resuming` (a retried Idempotency-Key whose first
    run never answered) also answers with the subscription that run created.
    """
    now = now or clock.now()
    currency = currency.upper()
    plan = Plan.objects.available().filter(code=plan_code).first()
    if plan is None:
        raise ValidationFailed(
            gettext("No such plan."), extra={"fields": {"plan": [gettext("Unknown plan.")]}}
        )
    price = _price(plan, currency)
    existing = Subscription.objects.select_related("plan").filter(account=account).first()
    if existing is not None and existing.status == S.INCOMPLETE:
        return _checkout_resume(existing, plan, now)
    if existing is not None and existing.status not in (S.CANCELED, S.EXPIRED):
        if resuming and existing.plan_id == plan.pk:
            return existing
        raise Conflict(gettext("This account already has a subscription; change its plan instead."))
    # The card first, with the gateway and outside any transaction of ours.
    method = None
    if card_token and setup_intent_id:
        method = payment_method_from_setup(
            account=account, setup_intent_id=setup_intent_id, payment_method_id=card_token
        )
    elif card_token:
        method = payment_method_add(account=account, token=card_token)
    payment = None
    with transaction.atomic():
        existing = Subscription.objects.select_for_update().filter(account=account).first()
        if existing is not None and existing.status not in (S.CANCELED, S.EXPIRED):
            raise Conflict(
                gettext("This account already has a subscription; change its plan instead.")
            )
        if method is None:
            method = PaymentMethod.objects.filter(account=account).first()
        if method is None:
            raise ValidationFailed(
                gettext("A card is required."),
                extra={"fields": {"card_token": [gettext("Required.")]}},
            )
        coupon = _redeem_coupon(coupon_code, currency)
        BillingAccount.objects.filter(account=account).update(currency=currency)
        trialing = trial and settings.BILLING_TRIAL_DAYS > 0 and existing is None
        end = (
            now + timedelta(days=settings.BILLING_TRIAL_DAYS)
            if trialing
            else add_interval(now, plan.interval, now.day)
        )
        fields: dict[str, Any] = {
            "plan": plan,
            "pending_plan": None,
            "currency": currency,
            "current_period_start": now,
            "current_period_end": end,
            "billing_anchor_day": end.day if trialing else now.day,
            "trial_end": end if trialing else None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "past_due_since": None,
            "payment_method": method,
            "coupon": coupon,
            "coupon_periods_left": _coupon_periods(coupon),
        }
        status = S.TRIALING if trialing else S.INCOMPLETE
        if existing is None:
            try:
                with transaction.atomic():
                    sub = Subscription.objects.create(account=account, status=status, **fields)
            except IntegrityError:
                raise Conflict(gettext("This account already has a subscription.")) from None
            _event(sub, "created", "", now, plan=plan.code, trial=trialing)
            invalidate(account.pk)
        else:
            sub = existing
            if not _transition(
                sub,
                to=status,
                kind="reactivated",
                now=now,
                expected=(S.CANCELED, S.EXPIRED),
                data={"plan": plan.code},
                **fields,
            ):
                raise Conflict(gettext("The subscription changed meanwhile; try again."))
        if trialing:
            return sub
        invoice = _build_invoice(
            account=account,
            subscription=sub,
            kind=InvoiceKind.CREATE,
            currency=currency,
            period_start=now,
            period_end=end,
            lines=[
                (
                    InvoiceLine.Kind.PLAN,
                    f"{plan.name} ({now:%d %b %Y} – {end:%d %b %Y})",
                    price.amount,
                )
            ],
            now=now,
        )
        if invoice.status == InvoiceStatus.PAID:
            _transition(
                sub, to=S.ACTIVE, kind="activated", now=now, data={"invoice": invoice.number}
            )
        else:
            payment = _open_attempt(invoice, now)
    if payment is not None:
        _collect_or_decline(payment, now)
    sub.refresh_from_db()
    return sub


def _checkout_resume(sub: Subscription, plan: Plan, now: datetime) -> Subscription:
    """Finish the checkout in flight: its first invoice's pending payment, same key."""
    invoice = (
        Invoice.objects.filter(subscription=sub, kind=InvoiceKind.CREATE, status=InvoiceStatus.OPEN)
        .order_by("-pk")
        .first()
    )
    payment = _pending_payment_of(invoice) if invoice is not None else None
    if payment is None:
        raise Conflict(gettext("A checkout for this account is in progress; try again shortly."))
    if sub.plan_id != plan.pk:
        raise Conflict(gettext("A checkout for another plan is in progress; try again shortly."))
    _collect_or_decline(payment, now)
    sub.refresh_from_db()
    return sub
