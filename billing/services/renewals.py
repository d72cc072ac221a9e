"""Renewals: a batch of due subscriptions claimed, invoiced and charged."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce

from billing import clock
from billing.entitlements import invalidate_many
from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Plan,
    Price,
    Subscription,
    SubscriptionEvent,
)
from billing.services._core import (
    S,
    _transition,
    billing_account,
)
from billing.services.invoices import (
    InvoiceDraft,
    _draft_invoice,
    _invoice_from_draft,
    _next_numbers,
    _write_invoice_details,
    add_interval,
)
from billing.services.payments import (
    _pending_payment,
    payment_collect,
)

logger = logging.getLogger(__name__)


@dataclass
class _Renewal:
    sub: Subscription
    plan: Plan
    price: Price
    start: datetime
    end: datetime


class _Raced(Exception):
    """A claim matched fewer rows than were read: roll the whole batch back."""


def subscriptions_renew(
    *, now: datetime | None = None, limit: int | None = None, ids: Sequence[int] | None = None
) -> dict[str, int]:
    """Renew a batch of due subscriptions: claim, invoice and open a payment for each at once.

    One transaction reads the batch (row-locked with SKIP LOCKED on PostgreSQL, so concurrent
    runners take different batches; SQLite's IMMEDIATE transactions serialise writers),
    advances every period with one conditional UPDATE per chunk (guarded on status and
    due-ness; if it matches fewer rows than it read, the batch is rolled back and reported as
    raced), reserves a block of invoice numbers, and bulk-inserts the invoices, lines, audit
    events and pending payments. Charges go out after commit, one gateway call per payment
    with its own idempotency key, each result applied as in every other payment path.
    Returns counts by outcome: renewed, expired, raced, pending.
    """
    now = now or clock.now()
    limit = limit or settings.BILLING_RENEWAL_BATCH
    outcome = {"renewed": 0, "expired": 0, "raced": 0, "pending": 0}
    try:
        with transaction.atomic():
            renewals, charges = _renew_claim(now=now, limit=limit, ids=ids, outcome=outcome)
    except (_Raced, IntegrityError) as exc:
        if isinstance(exc, IntegrityError):
            logger.warning("renewal batch rolled back: %s", exc)
        return {"renewed": 0, "expired": 0, "raced": 1, "pending": 0}
    outcome["renewed"] += len(renewals)
    # After commit: one gateway call per payment with its own key, all results applied in
    # one transaction. Should that fail, the payments stay pending and the sweep re-sends
    # their keys: the gateway answers with the same charges, nothing is charged twice.
    _applied, outcome["pending"] = payment_collect(
        payments=[payment for payment, _, _ in charges],
        now=now,
        preloaded={payment.pk: (invoice, customer) for payment, invoice, customer in charges},
    )
    return outcome


def _renew_claim(
    *, now: datetime, limit: int, ids: Sequence[int] | None, outcome: dict[str, int]
) -> tuple[list[_Renewal], list[tuple[Payment, Invoice, str]]]:
    rows = (
        Subscription.objects.due_for_renewal(now)
        .select_related("plan", "pending_plan", "coupon", "payment_method")
        .order_by("pk")
    )
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    subs = list(rows[:limit])
    if not subs:
        return [], []
    plans = {(s.pending_plan or s.plan).pk for s in subs}
    prices = {(p.plan_id, p.currency): p for p in Price.objects.filter(plan_id__in=plans)}
    renewals: list[_Renewal] = []
    for sub in subs:
        plan = sub.pending_plan or sub.plan
        price = prices.get((plan.pk, sub.currency))
        if sub.cancel_at_period_end or price is None:
            kind = "expired" if sub.cancel_at_period_end else "expired_no_price"
            ended = sub.current_period_end if sub.cancel_at_period_end else now
            if not _transition(sub, to=S.EXPIRED, kind=kind, now=now, ended_at=ended):
                raise _Raced
            outcome["expired"] += 1
            continue
        start = sub.current_period_end
        end = add_interval(start, plan.interval, sub.billing_anchor_day)
        renewals.append(_Renewal(sub, plan, price, start, end))
    if not renewals:
        return [], []

    # Advance every period: conditional on still being due, under the row locks taken above.
    for chunk in _chunks(renewals, 100):
        pks = [r.sub.pk for r in chunk]
        claimed = Subscription.objects.filter(
            pk__in=pks, status__in=(S.TRIALING, S.ACTIVE), current_period_end__lte=now
        ).update(
            # Right-hand sides read the row as it was: the new period starts at the old end.
            version=F("version") + 1,
            plan_id=Coalesce(F("pending_plan_id"), F("plan_id")),
            pending_plan=None,
            current_period_start=F("current_period_end"),
            current_period_end=Case(
                *(When(pk=r.sub.pk, then=Value(r.end)) for r in chunk),
                output_field=DateTimeField(),
            ),
        )
        if claimed != len(chunk):
            raise _Raced
    events = []
    for r in renewals:
        sub = r.sub
        sub.version += 1
        sub.plan, sub.pending_plan = r.plan, None
        sub.current_period_start, sub.current_period_end = r.start, r.end
        events.append(
            SubscriptionEvent(
                subscription=sub,
                kind="renewed",
                from_status=sub.status,
                to_status=sub.status,
                data={"plan": r.plan.code, "period_start": r.start.isoformat()},
                at=now,
            )
        )
    SubscriptionEvent.objects.bulk_create(events)
    invalidate_many([r.sub.account_id for r in renewals])

    # Invoices: drafts (coupon, tax, credit), a block of numbers, one insert for all.
    ledgers = {
        ledger.account_id: ledger
        for ledger in BillingAccount.objects.filter(
            account_id__in=[r.sub.account_id for r in renewals]
        )
    }
    pairs: list[tuple[Invoice, InvoiceDraft]] = []
    numbers = iter(_next_numbers(now.year, len(renewals)))
    for r in renewals:
        if r.sub.account_id not in ledgers:
            ledgers[r.sub.account_id] = billing_account(r.sub.account)
        ledger = ledgers[r.sub.account_id]
        label = f"{r.plan.name} ({r.start:%d %b %Y} – {r.end:%d %b %Y})"
        draft = _draft_invoice(
            ledger=ledger,
            subscription=r.sub,
            currency=r.sub.currency,
            lines=[(InvoiceLine.Kind.PLAN, label, r.price.amount)],
        )
        invoice = _invoice_from_draft(
            draft,
            number=next(numbers),
            account_id=r.sub.account_id,
            subscription=r.sub,
            kind=InvoiceKind.RENEWAL,
            currency=r.sub.currency,
            period_start=r.start,
            period_end=r.end,
            now=now,
            attempt_count=1,
        )
        pairs.append((invoice, draft))
    Invoice.objects.bulk_create([invoice for invoice, _ in pairs])
    _write_invoice_details(pairs)

    # A pending first attempt for every invoice with something to pay; free ones are paid.
    charges: list[tuple[Payment, Invoice, str]] = []
    for r, (invoice, _draft) in zip(renewals, pairs, strict=True):
        sub = r.sub
        if invoice.status == InvoiceStatus.PAID:
            if sub.status == S.TRIALING:
                _transition(sub, to=S.ACTIVE, kind="activated", now=now)
            continue
        payment = _pending_payment(invoice, 1, now)
        customer_id = ledgers[r.sub.account_id].gateway_customer_id
        charges.append((payment, invoice, customer_id))
    Payment.objects.bulk_create([payment for payment, _, _ in charges])
    return renewals, charges


def _chunks(items: list[_Renewal], size: int) -> list[list[_Renewal]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
