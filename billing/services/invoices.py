"""Invoices: periods and proration, drafts (coupon, tax, credit), numbers, finalised invoices."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from django.conf import settings
from django.db.models import F

from accounts.models import User
from billing import money
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    Coupon,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    Plan,
    Subscription,
)
from billing.services._core import (
    billing_account,
)
from billing.services.coupons import (
    _coupon_applies,
)


def add_interval(start: datetime, interval: str, anchor_day: int) -> datetime:
    """The next period boundary: same anchor day next month (clamped to the month's end)."""
    months = 12 if interval == Interval.YEAR else 1
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(anchor_day, calendar.monthrange(year, month0 + 1)[1])
    return start.replace(year=year, month=month0 + 1, day=day)


@dataclass(frozen=True)
class Proration:
    currency: str
    credit: int  # negative: unused time on the old plan
    debit: int  # positive: remaining time on the new plan
    remaining_seconds: int
    period_seconds: int

    @property
    def total(self) -> int:
        return self.credit + self.debit


def proration_for(
    *,
    old_amount: int,
    new_amount: int,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> Proration:
    """Each line is prorated by remaining/period seconds and rounded half away from zero."""
    period = int((period_end - period_start).total_seconds())
    remaining = max(0, min(period, int((period_end - at).total_seconds())))
    return Proration(
        currency=currency,
        credit=-money.prorate(old_amount, remaining, period),
        debit=money.prorate(new_amount, remaining, period),
        remaining_seconds=remaining,
        period_seconds=period,
    )


def _next_numbers(year: int, count: int = 1) -> list[str]:
    """Reserve `count` consecutive invoice numbers of the year (gap-free: rolled back with us)."""
    InvoiceSequence.objects.get_or_create(year=year)
    InvoiceSequence.objects.filter(year=year).update(last=F("last") + count)
    last = InvoiceSequence.objects.get(year=year).last
    return [f"{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


@dataclass
class InvoiceDraft:
    """An invoice's lines and totals before it is written; `total` is the sum of the lines."""

    items: list[tuple[str, str, int]]
    subtotal: int
    discount: int
    tax: int
    credit: int

    @property
    def total(self) -> int:
        return sum(amount for _, _, amount in self.items)


def _draft_invoice(
    *,
    ledger: BillingAccount,
    subscription: Subscription | None,
    currency: str,
    lines: Sequence[tuple[str, str, int]],
    apply_coupon: bool = True,
) -> InvoiceDraft:
    """Discount, tax and account credit on top of the given lines, in that order.

    Consumes what it uses: a coupon period (conditional decrement) and account credit
    (conditional decrement of the balance), so call it inside the transaction that writes
    the invoice.
    """
    items = list(lines)
    subtotal = sum(amount for _, _, amount in items)
    discount = 0
    coupon = _coupon_applies(subscription) if apply_coupon else None
    if coupon is not None and subscription is not None and subtotal > 0:
        if coupon.kind == Coupon.Kind.PERCENT:
            discount = money.percent_of(subtotal, coupon.percent_off or 0)
        else:
            discount = min(coupon.amount_off or 0, subtotal)
        items.append((InvoiceLine.Kind.DISCOUNT, f"Coupon {coupon.code}", -discount))
        if subscription.coupon_periods_left is not None:
            Subscription.objects.filter(pk=subscription.pk).update(
                coupon_periods_left=F("coupon_periods_left") - 1
            )
    taxable = subtotal - discount
    tax = money.percent_of(taxable, Fraction(settings.BILLING_TAX_PERCENT))
    if tax:
        items.append((InvoiceLine.Kind.TAX, f"Tax {settings.BILLING_TAX_PERCENT}%", tax))
    credit = 0
    if ledger.currency == currency and ledger.credit_balance > 0 and taxable + tax > 0:
        credit = min(ledger.credit_balance, taxable + tax)
        took = BillingAccount.objects.filter(pk=ledger.pk, credit_balance__gte=credit).update(
            credit_balance=F("credit_balance") - credit
        )
        if took:
            ledger.credit_balance -= credit
            items.append((InvoiceLine.Kind.CREDIT, "Account credit", -credit))
        else:
            credit = 0
    return InvoiceDraft(items, subtotal, discount, tax, credit)


def _invoice_from_draft(
    draft: InvoiceDraft,
    *,
    number: str,
    account_id: int,
    subscription: Subscription | None,
    kind: str,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    upgrade_to: Plan | None = None,
    attempt_count: int = 0,
) -> Invoice:
    total = draft.total
    return Invoice(
        account_id=account_id,
        subscription=subscription,
        kind=kind,
        number=number,
        currency=currency,
        status=InvoiceStatus.OPEN if total > 0 else InvoiceStatus.PAID,
        period_start=period_start,
        period_end=period_end,
        subtotal=draft.subtotal,
        discount_total=draft.discount,
        tax_total=draft.tax,
        credit_applied=draft.credit,
        total=total,
        upgrade_to=upgrade_to,
        attempt_count=attempt_count if total > 0 else 0,
        created_at=now,
        paid_at=None if total > 0 else now,
    )


def _write_invoice_details(pairs: Sequence[tuple[Invoice, InvoiceDraft]]) -> None:
    """The lines (and credit ledger entries) of invoices already inserted."""
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, kind=k, description=d, amount=a, position=i)
        for invoice, draft in pairs
        for i, (k, d, a) in enumerate(draft.items, start=1)
    )
    BalanceTransaction.objects.bulk_create(
        BalanceTransaction(
            account_id=invoice.account_id,
            kind=BalanceTransaction.Kind.APPLIED,
            amount=-draft.credit,
            currency=invoice.currency,
            invoice=invoice,
            created_at=invoice.created_at,
        )
        for invoice, draft in pairs
        if draft.credit and invoice.account_id is not None
    )


def _build_invoice(
    *,
    account: User,
    subscription: Subscription | None,
    kind: str,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    lines: Sequence[tuple[str, str, int]],
    now: datetime,
    apply_coupon: bool = True,
    upgrade_to: Plan | None = None,
) -> Invoice:
    """Create a finalised invoice: lines first, totals as their sums, a sequential number."""
    draft = _draft_invoice(
        ledger=billing_account(account),
        subscription=subscription,
        currency=currency,
        lines=lines,
        apply_coupon=apply_coupon,
    )
    invoice = _invoice_from_draft(
        draft,
        number=_next_numbers(now.year)[0],
        account_id=account.pk,
        subscription=subscription,
        kind=kind,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        now=now,
        upgrade_to=upgrade_to,
    )
    invoice.save(force_insert=True)
    _write_invoice_details([(invoice, draft)])
    return invoice
