"""Reads for billing shared by the API, the pages and the admin."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User
from billing import money
from billing.entitlements import grace_ends_at
from billing.models import (
    LIVE_STATUSES,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Plan,
    Price,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)


def plans_available() -> QuerySet[Plan]:
    return Plan.objects.available().prefetch_related(
        Prefetch("prices", queryset=Price.objects.order_by("currency"))
    )


def subscription_for(account: User) -> Subscription | None:
    return (
        Subscription.objects.select_related("plan", "pending_plan", "payment_method")
        .filter(account=account)
        .first()
    )


def invoices_for(account: User) -> QuerySet[Invoice]:
    return Invoice.objects.for_account(account).order_by("-created_at", "-id")


def invoice_detail(account: User, invoice_id: int) -> Invoice | None:
    return (
        Invoice.objects.for_account(account)
        .select_related("account", "subscription__plan")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")), "credit_notes"
        )
        .filter(pk=invoice_id)
        .first()
    )


def upcoming_amount(sub: Subscription) -> int | None:
    """What the next renewal will charge before coupons, tax and credit (None: nothing)."""
    if sub.status not in LIVE_STATUSES or sub.cancel_at_period_end:
        return None
    plan = sub.pending_plan or sub.plan
    price = Price.objects.filter(plan=plan, currency=sub.currency).first()
    return price.amount if price else None


@dataclass(frozen=True)
class Dunning:
    """Where a past-due subscription stands: what the customer needs to see to act in time."""

    invoice: Invoice | None  # the open renewal invoice being retried
    retry_at: datetime | None  # its next scheduled charge (None: none scheduled)
    grace_ends_at: datetime  # streaming stops then unless the invoice is paid


def dunning_for(sub: Subscription) -> Dunning | None:
    """The retry schedule and grace end of a past-due subscription (None when not past due)."""
    if sub.status != SubscriptionStatus.PAST_DUE or sub.past_due_since is None:
        return None
    invoice = (
        Invoice.objects.filter(subscription=sub, status=InvoiceStatus.OPEN)
        .order_by("-created_at", "-id")
        .first()
    )
    return Dunning(
        invoice=invoice,
        retry_at=invoice.next_attempt_at if invoice else None,
        grace_ends_at=grace_ends_at(sub.past_due_since),
    )


@dataclass(frozen=True)
class Revenue:
    mrr: dict[str, int]  # per currency, minor units
    subscribers_by_plan: list[tuple[str, int]]
    churn_30d: float  # ended in the last 30 days / live 30 days ago (approximation below)
    ended_30d: int
    monthly_paid: list[tuple[str, dict[str, int]]]  # ("2026-01", {"USD": 1234})


def revenue(now: datetime) -> Revenue:
    mrr: dict[str, int] = defaultdict(int)
    live = Subscription.objects.filter(
        status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
    ).select_related("plan")
    prices = {(p.plan_id, p.currency): p.amount for p in Price.objects.all()}
    for sub in live:
        amount = prices.get((sub.plan_id, sub.currency), 0)
        if sub.plan.interval == Interval.YEAR:
            amount = money.prorate(amount, 1, 12)
        mrr[sub.currency] += amount
    by_plan = list(
        Plan.objects.annotate(
            n=Count("subscriptions", filter=Q(subscriptions__status__in=LIVE_STATUSES))
        )
        .order_by("sort_order", "id")
        .values_list("name", "n")
    )
    since = now - timedelta(days=30)
    ended = (
        SubscriptionEvent.objects.filter(
            at__gte=since, to_status__in=(SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED)
        )
        .exclude(from_status__in=(SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED))
        .exclude(kind="checkout_failed")
        .values("subscription_id")
        .distinct()
        .count()
    )
    live_now = Subscription.objects.filter(status__in=LIVE_STATUSES).count()
    base = live_now + ended  # live at the window start ~ live now + those who left since
    churn = round(ended / base, 4) if base else 0.0
    months: dict[str, dict[str, int]] = {}
    for year_month in _last_months(now, 12):
        months[year_month] = defaultdict(int)
    for inv in Invoice.objects.filter(
        status=InvoiceStatus.PAID, paid_at__gte=now - timedelta(days=366)
    ).values("paid_at", "currency", "total", "amount_credited"):
        if inv["paid_at"] is None:
            continue
        key = inv["paid_at"].strftime("%Y-%m")
        if key in months:
            months[key][inv["currency"]] += inv["total"] - inv["amount_credited"]
    return Revenue(
        mrr=dict(mrr),
        subscribers_by_plan=[(str(name), int(n)) for name, n in by_plan],
        churn_30d=churn,
        ended_30d=ended,
        monthly_paid=[(k, dict(v)) for k, v in months.items()],
    )


def _last_months(now: datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(keys))


def account_ever_subscribed(account: User) -> bool:
    """Whether the account has picked a plan at some point (any subscription row, live or not)."""
    return Subscription.objects.filter(account=account).exists()


def plan_recommended(
    *, plans: list[Plan], current: Subscription | None, currency: str
) -> Plan | None:
    """The plan a picker preselects, never a downgrade.

    No plan yet: BILLING_RECOMMENDED_PLAN when on sale, else the first. A live subscription:
    the cheapest plan priced above the current one in `currency`, None on the top plan. A
    canceled or expired one: the plan it had, when still on sale, else the next one up."""
    priced = [p for p in plans if p.price_for(currency) is not None]
    if current is None:
        wanted = settings.BILLING_RECOMMENDED_PLAN
        return next((p for p in priced if p.code == wanted), priced[0] if priced else None)
    listed = next((p for p in plans if p.pk == current.plan_id), current.plan)  # prefetched
    old_price = listed.price_for(currency)
    floor = old_price.amount if old_price is not None else -1
    ended = current.status in ("canceled", "expired")
    above = sorted(
        (p for p in priced if p.price_for(currency).amount > floor),  # type: ignore[union-attr]
        key=lambda p: p.price_for(currency).amount,  # type: ignore[union-attr]
    )
    if ended:
        same = next((p for p in priced if p.pk == current.plan_id), None)
        return same or (above[0] if above else None)
    return above[0] if above else None
