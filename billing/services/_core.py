"""Shared by billing's services: subscription state changes, the ledger row, the
transaction guard of gateway calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext

from accounts.models import User
from audit.services import record
from billing.entitlements import invalidate
from billing.models import (
    LIVE_STATUSES,
    BillingAccount,
    Plan,
    Price,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)
from streamsite.db.transactions import in_program_transaction
from streamsite.errors import DomainError, NotFound, ValidationFailed

S = SubscriptionStatus


class PaymentDeclined(DomainError):
    status = 402
    code = "payment_declined"


def _price(plan: Plan, currency: str) -> Price:
    price = Price.objects.filter(plan=plan, currency=currency).first()
    if price is None:
        raise ValidationFailed(
            gettext("%(plan)s is not sold in %(currency)s.")
            % {"plan": plan.name, "currency": currency},
            extra={
                "fields": {
                    "currency": [gettext("Not available for %(plan)s.") % {"plan": plan.name}]
                }
            },
        )
    return price


def billing_account(account: User) -> BillingAccount:
    row, _ = BillingAccount.objects.get_or_create(
        account=account, defaults={"currency": settings.BILLING_DEFAULT_CURRENCY}
    )
    return row


def _event(sub: Subscription, kind: str, from_status: str, now: datetime, **data: Any) -> None:
    actor = str(data.pop("actor", ""))
    SubscriptionEvent.objects.create(
        subscription=sub,
        kind=kind,
        from_status=from_status,
        to_status=sub.status,
        data=data,
        actor=actor,
        at=now,
    )


def _transition(
    sub: Subscription,
    *,
    to: str,
    kind: str,
    now: datetime,
    expected: tuple[str, ...] | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Conditional update on (status, version): False when someone else changed it first."""
    expected = expected or (sub.status,)
    updated = Subscription.objects.filter(
        pk=sub.pk, version=sub.version, status__in=expected
    ).update(status=to, version=F("version") + 1, **fields)
    if updated != 1:
        return False
    from_status, plans_before = sub.status, (sub.plan_id, sub.pending_plan_id)
    sub.refresh_from_db()
    _event(sub, kind, from_status, now, **(data or {}))
    if plans_before != (sub.plan_id, sub.pending_plan_id):
        record(
            action="billing.plan_change",
            obj=sub,
            before=dict(zip(("plan", "pending_plan"), plans_before, strict=True)),
            after={"plan": sub.plan_id, "pending_plan": sub.pending_plan_id, "kind": kind},
        )
    invalidate(sub.account_id)
    return True


def live_subscription(account: User, *, lock: bool = False) -> Subscription:
    qs = Subscription.objects.select_related("plan", "pending_plan")
    if lock:
        qs = qs.select_for_update(of=("self",))
    sub = qs.filter(account=account).first()
    if sub is None or sub.status not in LIVE_STATUSES:
        raise NotFound(gettext("You have no active subscription."))
    return sub


def _outside_transactions() -> None:
    """Step (b) of the charge protocol runs outside every transaction of ours (a test case's
    own wrapping transaction aside): a gateway call never holds a lock or a transaction."""
    if in_program_transaction():
        raise RuntimeError("A gateway call inside a database transaction (docs/billing.md).")
