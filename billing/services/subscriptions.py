"""Subscriptions after checkout: plan changes (upgrade now, downgrade at the
period end), cancel, resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Plan,
    Subscription,
)
from billing.services._core import (
    S,
    _price,
    _transition,
    live_subscription,
)
from billing.services.invoices import (
    _build_invoice,
    proration_for,
)
from billing.services.payments import (
    _after_paid,
    _collect_or_decline,
    _open_attempt,
)
from streamsite.errors import Conflict, ValidationFailed


def change_preview(*, account: User, plan_code: str, now: datetime | None = None) -> dict[str, Any]:
    """What changing to plan_code would do and cost now (nothing is written)."""
    now = now or clock.now()
    sub = live_subscription(account)
    new = Plan.objects.available().filter(code=plan_code).first()
    if new is None:
        raise ValidationFailed(
            gettext("No such plan."), extra={"fields": {"plan": [gettext("Unknown plan.")]}}
        )
    if new.pk == sub.plan_id:
        raise ValidationFailed(
            gettext("That is your current plan."),
            extra={"fields": {"plan": [gettext("Current plan.")]}},
        )
    old_price, new_price = _price(sub.plan, sub.currency), _price(new, sub.currency)
    if sub.status == S.TRIALING:
        return {
            "kind": "switch",
            "amount_due": 0,
            "currency": sub.currency,
            "effective_at": now,
            "lines": [],
        }
    if new_price.amount <= old_price.amount:
        return {
            "kind": "downgrade",
            "amount_due": 0,
            "currency": sub.currency,
            "effective_at": sub.current_period_end,
            "lines": [],
        }
    pr = proration_for(
        old_amount=old_price.amount,
        new_amount=new_price.amount,
        currency=sub.currency,
        period_start=sub.current_period_start,
        period_end=sub.current_period_end,
        at=now,
    )
    return {
        "kind": "upgrade",
        "amount_due": pr.total,
        "currency": sub.currency,
        "effective_at": now,
        "lines": [
            {"description": f"Unused time on {sub.plan.name}", "amount": pr.credit},
            {"description": f"Remaining time on {new.name}", "amount": pr.debit},
        ],
    }


def subscription_change_plan(
    *,
    account: User,
    plan_code: str,
    now: datetime | None = None,
    actor: str = "",
    resuming: bool = False,
) -> Subscription:
    """Upgrade now with proration (charged immediately); downgrade at the period end.

    An upgrade whose charge is in flight (its payment pending) is finished with the same key,
    never invoiced twice; `resuming` (a retried Idempotency-Key) answers with the plan that
    run already switched to."""
    now = now or clock.now()
    payment = None
    with transaction.atomic():
        sub = live_subscription(account, lock=True)
        in_flight = (
            Payment.objects.filter(
                invoice__subscription=sub,
                invoice__kind=InvoiceKind.UPGRADE,
                invoice__status=InvoiceStatus.OPEN,
                status=PaymentStatus.PENDING,
            )
            .select_related("invoice__upgrade_to")
            .first()
        )
        if in_flight is not None:
            upgrade_to = in_flight.invoice.upgrade_to
            if upgrade_to is None or upgrade_to.code != plan_code:
                raise Conflict(gettext("A plan change is being paid; try again shortly."))
            payment = in_flight
        elif resuming and sub.plan.code == plan_code and sub.pending_plan_id is None:
            return sub
    if payment is not None:
        _collect_or_decline(payment, now)
        sub.refresh_from_db()
        return sub
    with transaction.atomic():
        sub = live_subscription(account, lock=True)
        if (
            sub.pending_plan_id is not None
            and sub.pending_plan is not None
            and sub.pending_plan.code == plan_code
        ):
            return sub
        if sub.plan.code == plan_code and sub.pending_plan_id is not None:
            _transition(sub, to=sub.status, kind="downgrade_canceled", now=now, pending_plan=None)
            return sub
        preview = change_preview(account=account, plan_code=plan_code, now=now)
        if sub.status == S.PAST_DUE:
            raise Conflict(gettext("Pay the open invoice before changing plan."))
        new = Plan.objects.get(code=plan_code)
        if preview["kind"] == "switch":
            _transition(
                sub,
                to=sub.status,
                kind="plan_changed",
                now=now,
                plan=new,
                pending_plan=None,
                data={"to_plan": new.code, "actor": actor},
            )
            return sub
        if preview["kind"] == "downgrade":
            _transition(
                sub,
                to=sub.status,
                kind="downgrade_scheduled",
                now=now,
                pending_plan=new,
                data={"to_plan": new.code, "at": sub.current_period_end.isoformat()},
            )
            return sub
        lines = [
            (
                InvoiceLine.Kind.PRORATION_CREDIT,
                preview["lines"][0]["description"],
                preview["lines"][0]["amount"],
            ),
            (
                InvoiceLine.Kind.PRORATION_DEBIT,
                preview["lines"][1]["description"],
                preview["lines"][1]["amount"],
            ),
        ]
        invoice = _build_invoice(
            account=account,
            subscription=sub,
            kind=InvoiceKind.UPGRADE,
            currency=sub.currency,
            period_start=now,
            period_end=sub.current_period_end,
            lines=lines,
            now=now,
            apply_coupon=False,
            upgrade_to=new,
        )
        if invoice.status == InvoiceStatus.PAID:
            _after_paid(sub, invoice, Payment(idempotency_key=""), now)
        else:
            payment = _open_attempt(invoice, now)
    if payment is not None:
        _collect_or_decline(payment, now)
    sub.refresh_from_db()
    return sub


@transaction.atomic
def subscription_cancel(
    *, account: User, now: datetime | None = None, actor: str = ""
) -> Subscription:
    """Cancel at the period end (it keeps working until then); past due: cancel now."""
    now = now or clock.now()
    sub = live_subscription(account, lock=True)
    if sub.status == S.PAST_DUE:
        Invoice.objects.filter(subscription=sub, status=InvoiceStatus.OPEN).update(
            status=InvoiceStatus.VOID, next_attempt_at=None
        )
        _transition(
            sub,
            to=S.CANCELED,
            kind="canceled",
            now=now,
            canceled_at=now,
            ended_at=now,
            data={"actor": actor},
        )
    elif not sub.cancel_at_period_end:
        _transition(
            sub,
            to=sub.status,
            kind="cancel_scheduled",
            now=now,
            cancel_at_period_end=True,
            canceled_at=now,
            data={"at": sub.current_period_end.isoformat(), "actor": actor},
        )
    return sub


@transaction.atomic
def subscription_resume(*, account: User, now: datetime | None = None) -> Subscription:
    now = now or clock.now()
    sub = live_subscription(account, lock=True)
    if not sub.cancel_at_period_end:
        raise ValidationFailed(gettext("The subscription is not set to cancel."))
    if now >= sub.current_period_end:
        raise Conflict(gettext("The period has ended; pick a plan to reactivate."))
    _transition(
        sub, to=sub.status, kind="resumed", now=now, cancel_at_period_end=False, canceled_at=None
    )
    return sub
