"""Writes for billing. Every change to a subscription, invoice or payment goes through here.

Protocol for moving money (see docs/billing.md):
1. in a transaction, build the finalised invoice and claim a payment attempt with a
   conditional update (attempt_count), creating a pending Payment whose idempotency key is
   `inv_<invoice>_<attempt>`;
2. outside that transaction, ask the gateway to charge with that key (same key, same charge);
3. in a second transaction, apply the result with conditional updates (pending -> final), so
   a result applied twice (retry, webhook) changes nothing the second time.
The database also refuses a second successful payment for one invoice (partial unique index).
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce

from billing import clock, money
from billing.entitlements import invalidate, invalidate_many
from billing.gateways import (
    CardDetails,
    CardSetup,
    CardSetupGateway,
    ChargeResult,
    GatewayUnavailable,
    get_gateway,
)
from billing.models import (
    LIVE_STATUSES,
    BalanceTransaction,
    BillingAccount,
    Coupon,
    CreditNote,
    Interval,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Plan,
    Price,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)
from streamsite.errors import Conflict, DomainError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)
S = SubscriptionStatus


class PaymentDeclined(DomainError):
    status = 402
    code = "payment_declined"


# --- periods and proration ------------------------------------------------------------------


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


# --- helpers --------------------------------------------------------------------------------


def _price(plan: Plan, currency: str) -> Price:
    price = Price.objects.filter(plan=plan, currency=currency).first()
    if price is None:
        raise ValidationFailed(
            f"{plan.name} is not sold in {currency}.",
            extra={"fields": {"currency": [f"Not available for {plan.name}."]}},
        )
    return price


def billing_account(account: Any) -> BillingAccount:
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
    from_status = sub.status
    sub.refresh_from_db()
    _event(sub, kind, from_status, now, **(data or {}))
    invalidate(sub.account_id)
    return True


def _next_numbers(year: int, count: int = 1) -> list[str]:
    """Reserve `count` consecutive invoice numbers of the year (gap-free: rolled back with us)."""
    InvoiceSequence.objects.get_or_create(year=year)
    InvoiceSequence.objects.filter(year=year).update(last=F("last") + count)
    last = InvoiceSequence.objects.get(year=year).last
    return [f"{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


def _coupon_applies(sub: Subscription | None) -> Coupon | None:
    if sub is None or sub.coupon_id is None:
        return None
    if sub.coupon_periods_left is not None and sub.coupon_periods_left < 1:
        return None
    return sub.coupon


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
        if draft.credit
    )


def _build_invoice(
    *,
    account: Any,
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


def _open_attempt(invoice: Invoice, now: datetime) -> Payment | None:
    """Claim the next payment attempt of an open invoice; None if another worker has it."""
    if Payment.objects.filter(invoice=invoice, status=PaymentStatus.PENDING).exists():
        return None
    attempt = invoice.attempt_count + 1
    claimed = Invoice.objects.filter(
        pk=invoice.pk, status=InvoiceStatus.OPEN, attempt_count=invoice.attempt_count
    ).update(attempt_count=attempt, next_attempt_at=None)
    if claimed != 1:
        return None
    invoice.attempt_count = attempt
    payment = _pending_payment(invoice, attempt, now)
    payment.save(force_insert=True)
    return payment


def _pending_payment(invoice: Invoice, attempt: int, now: datetime) -> Payment:
    """The (unsaved) pending attempt `attempt` of an invoice, keyed `inv_<invoice>_<attempt>`:
    the one place the gateway idempotency key is made."""
    method = getattr(invoice.subscription, "payment_method", None) if invoice.subscription else None
    return Payment(
        invoice=invoice,
        account_id=invoice.account_id,
        attempt=attempt,
        idempotency_key=f"inv_{invoice.pk}_{attempt}",
        amount=invoice.total - invoice.amount_paid,
        currency=invoice.currency,
        status=PaymentStatus.PENDING,
        gateway=method.gateway if method else settings.BILLING_GATEWAY,
        created_at=now,
    )


def _outside_transactions() -> None:
    """Step (b) of the charge protocol runs outside every transaction of ours (a test case's
    own wrapping transaction aside): a gateway call never holds a lock or a transaction."""
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise RuntimeError("A gateway call inside a database transaction (docs/billing.md).")


def _charge(payment: Payment, invoice: Invoice | None, customer_id: str | None) -> ChargeResult:
    """One gateway charge with the payment's own key. Same key: the gateway's first answer."""
    _outside_transactions()
    if invoice is None:
        invoice = Invoice.objects.select_related("subscription__payment_method").get(
            pk=payment.invoice_id
        )
    method = invoice.subscription.payment_method if invoice.subscription else None
    if method is None:
        return ChargeResult("failed", "", "no_payment_method", "No payment method on file.")
    if customer_id is None:
        ledger = BillingAccount.objects.filter(account_id=payment.account_id).first()
        customer_id = ledger.gateway_customer_id if ledger else ""
    return get_gateway(method.gateway).charge(
        amount=payment.amount,
        currency=payment.currency,
        token=method.token,
        customer_id=customer_id,
        idempotency_key=payment.idempotency_key,
        description=f"Streamsite invoice {invoice.number}",
    )


def payment_collect(
    *,
    payments: Sequence[Payment],
    now: datetime,
    preloaded: dict[int, tuple[Invoice, str]] | None = None,
) -> tuple[list[Payment], int]:
    """Steps (b) and (c) of the charge protocol, the one place a charge reaches the gateway.

    Every payment was committed `pending` with its key by step (a) (`_open_attempt` or the
    renewal batch, both through `_pending_payment`). (b) One gateway call per payment, outside
    any transaction, with that key: a retry, a sweep or a resumed request sends the same key
    and the gateway answers with the first charge. (c) All results applied in one short
    transaction, each by a conditional update `pending -> succeeded/failed`, so a result
    applied twice (retry, webhook, sweep) changes nothing. `preloaded` maps payment pk to its
    invoice (with subscription and payment method) and the customer id, for batches.
    Returns the payments as applied and how many stayed pending (gateway unreachable).
    """
    preloaded = preloaded or {}
    results: list[tuple[Payment, ChargeResult]] = []
    unreachable = 0
    for payment in payments:
        invoice, customer_id = preloaded.get(payment.pk, (None, None))
        try:
            results.append((payment, _charge(payment, invoice, customer_id)))
        except GatewayUnavailable:
            # Left pending; the sweep sends the same key again later.
            logger.warning("gateway unavailable for payment %s", payment.pk)
            unreachable += 1
    if not results:
        return [], unreachable
    with transaction.atomic():
        fresh = Invoice.objects.select_related("subscription", "upgrade_to").in_bulk(
            [payment.invoice_id for payment, _ in results]
        )
        applied = [
            _apply_result(payment, result, now, fresh[payment.invoice_id])
            for payment, result in results
        ]
    return applied, unreachable


def _collect_one(payment: Payment, now: datetime) -> Payment:
    applied, unreachable = payment_collect(payments=[payment], now=now)
    if unreachable:
        raise GatewayUnavailable("The payment provider is unavailable; try again shortly.")
    return applied[0]


def _collect_or_decline(payment: Payment, now: datetime) -> Payment:
    """Collect a customer's charge made in their request: a decline is their 402."""
    payment = _collect_one(payment, now)
    if payment.status == PaymentStatus.FAILED:
        raise PaymentDeclined(
            payment.failure_message or "Your card was declined.",
            extra={"decline_code": payment.failure_code},
        )
    return payment


def _pending_payment_of(invoice: Invoice) -> Payment | None:
    """The attempt of an invoice committed by step (a) and not answered yet, if any."""
    return (
        Payment.objects.filter(invoice=invoice, status=PaymentStatus.PENDING)
        .order_by("attempt")
        .first()
    )


def next_retry_at(past_due_since: datetime, now: datetime) -> datetime | None:
    """The first scheduled retry (BILLING_RETRY_DAYS after the first failure) after now."""
    for days in settings.BILLING_RETRY_DAYS:
        at = past_due_since + timedelta(days=days)
        if at > now:
            return at
    return None


# --- payments -------------------------------------------------------------------------------


@transaction.atomic
def payment_apply_result(
    *, payment_id: int, result: ChargeResult, now: datetime | None = None
) -> Payment:
    """Apply a gateway result to a pending payment, once; a second application changes nothing."""
    return _apply_result(Payment.objects.get(pk=payment_id), result, now or clock.now())


def _apply_result(
    payment: Payment, result: ChargeResult, now: datetime, invoice: Invoice | None = None
) -> Payment:
    """The body of payment_apply_result, for a payment already read; call inside a transaction.

    `invoice`, if given, must have been read inside the same transaction (with subscription
    and upgrade_to).
    """
    if result.status == PaymentStatus.PENDING:
        if result.charge_id and not payment.gateway_charge_id:
            Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
                gateway_charge_id=result.charge_id
            )
        payment.refresh_from_db()
        return payment
    succeeded = result.status == PaymentStatus.SUCCEEDED
    final = {
        "status": PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED,
        "gateway_charge_id": result.charge_id or payment.gateway_charge_id,
        "failure_code": result.failure_code[:32],
        "failure_message": result.failure_message[:255],
    }
    applied = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(**final)
    if applied != 1:
        payment.refresh_from_db()
        return payment
    for name, value in final.items():
        setattr(payment, name, value)
    if invoice is None:
        invoice = Invoice.objects.select_related("subscription", "upgrade_to").get(
            pk=payment.invoice_id
        )
    sub = invoice.subscription
    if succeeded:
        Invoice.objects.filter(
            pk=invoice.pk, status__in=(InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
        ).update(
            status=InvoiceStatus.PAID,
            amount_paid=F("amount_paid") + payment.amount,
            paid_at=now,
            next_attempt_at=None,
        )
        if sub is not None:
            _after_paid(sub, invoice, payment, now)
    else:
        if sub is not None:
            _after_failed(sub, invoice, payment, now)
        elif invoice.status == InvoiceStatus.OPEN:
            Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.VOID)
    return payment


def _after_paid(sub: Subscription, invoice: Invoice, payment: Payment, now: datetime) -> None:
    if invoice.kind == InvoiceKind.UPGRADE and invoice.upgrade_to is not None:
        ok = sub.status in LIVE_STATUSES and sub.current_period_end == invoice.period_end
        if ok:
            ok = _transition(
                sub,
                to=sub.status,
                kind="upgraded",
                now=now,
                plan=invoice.upgrade_to,
                pending_plan=None,
                data={"to_plan": invoice.upgrade_to.code, "invoice": invoice.number},
            )
        if not ok:
            # The period moved on while the card was charged: give the money back. Step (a)
            # of a refund here; the gateway is asked after this transaction commits.
            note = _refund_open(
                invoice=Invoice.objects.select_for_update().get(pk=invoice.pk),
                payment=payment,
                amount=payment.amount,
                reason="Upgrade superseded",
                key=f"refund_{invoice.pk}_superseded",
                actor=None,
                now=now,
            )
            _collect_refund_on_commit(note.pk)
        return
    if sub.status in (S.INCOMPLETE, S.TRIALING, S.PAST_DUE):
        _transition(
            sub,
            to=S.ACTIVE,
            kind="payment_succeeded",
            now=now,
            past_due_since=None,
            data={"invoice": invoice.number, "payment": payment.idempotency_key},
        )


def _after_failed(sub: Subscription, invoice: Invoice, payment: Payment, now: datetime) -> None:
    from billing import tasks

    data = {
        "invoice": invoice.number,
        "payment": payment.idempotency_key,
        "code": payment.failure_code,
    }
    if invoice.kind in (InvoiceKind.CREATE, InvoiceKind.UPGRADE):
        Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.OPEN).update(
            status=InvoiceStatus.VOID
        )
        if invoice.kind == InvoiceKind.CREATE and sub.status == S.INCOMPLETE:
            _transition(sub, to=S.EXPIRED, kind="checkout_failed", now=now, ended_at=now, data=data)
        return
    if sub.status in (S.TRIALING, S.ACTIVE):
        _transition(
            sub, to=S.PAST_DUE, kind="payment_failed", now=now, past_due_since=now, data=data
        )
    elif sub.status == S.PAST_DUE:
        _event(sub, "payment_failed", sub.status, now, **data)
    if sub.status != S.PAST_DUE or sub.past_due_since is None:
        return
    retry_at = next_retry_at(sub.past_due_since, now)
    if retry_at is not None:
        Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.OPEN).update(
            next_attempt_at=retry_at
        )
        tasks.send_payment_failed_email.delay_on_commit(invoice.pk, False)  # type: ignore[attr-defined]
        return
    Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.OPEN).update(
        status=InvoiceStatus.UNCOLLECTIBLE, next_attempt_at=None
    )
    _transition(
        sub,
        to=S.CANCELED,
        kind="dunning_canceled",
        now=now,
        canceled_at=now,
        ended_at=now,
        data=data,
    )
    tasks.send_payment_failed_email.delay_on_commit(invoice.pk, True)  # type: ignore[attr-defined]


def payment_method_add(*, account: Any, token: str) -> PaymentMethod:
    """Attach a gateway token to the account and make it the card the subscription uses.

    The gateway is asked first, outside any transaction (attaching the same card twice is
    harmless); the card is then recorded in one short transaction."""
    if not token:
        raise ValidationFailed(
            "A card token is required.", extra={"fields": {"card_token": ["Required."]}}
        )
    _outside_transactions()
    ledger = billing_account(account)
    gateway = get_gateway()
    details = gateway.attach(
        token=token, email=account.email, customer_id=ledger.gateway_customer_id
    )
    with transaction.atomic():
        return _payment_method_record(account, ledger, gateway.name, details)


def _payment_method_record(
    account: Any, ledger: BillingAccount, gateway_name: str, details: CardDetails
) -> PaymentMethod:
    if details.customer_id and details.customer_id != ledger.gateway_customer_id:
        BillingAccount.objects.filter(pk=ledger.pk).update(gateway_customer_id=details.customer_id)
    method, _ = PaymentMethod.objects.get_or_create(
        gateway=gateway_name,
        token=details.token,
        defaults={
            "account": account,
            "brand": details.brand,
            "last4": details.last4,
            "exp_month": details.exp_month,
            "exp_year": details.exp_year,
        },
    )
    if method.account_id != account.pk:
        raise ValidationFailed(
            "Unknown card token.", extra={"fields": {"card_token": ["Unknown."]}}
        )
    Subscription.objects.filter(account=account).update(payment_method=method)
    return method


def _card_setup_gateway() -> CardSetupGateway:
    gateway = get_gateway()
    if not isinstance(gateway, CardSetupGateway):
        raise ValidationFailed(f"The {gateway.name} gateway takes cards without a card setup.")
    return gateway


def card_setup_begin(*, account: Any) -> CardSetup:
    """Stripe: a SetupIntent for the account's customer (created on first use), which the
    browser confirms with the card; only its client secret goes to the page."""
    gateway = _card_setup_gateway()
    ledger = billing_account(account)
    setup = gateway.setup_begin(
        customer_id=ledger.gateway_customer_id, email=account.email, account_ref=str(account.pk)
    )
    if setup.customer_id != ledger.gateway_customer_id:
        BillingAccount.objects.filter(pk=ledger.pk, gateway_customer_id="").update(
            gateway_customer_id=setup.customer_id
        )
    return setup


def payment_method_from_setup(
    *, account: Any, setup_intent_id: str, payment_method_id: str
) -> PaymentMethod:
    """Store the card a SetupIntent saved, once Stripe says it succeeded for this account's
    customer with exactly this payment method; anything else is a ValidationFailed."""
    gateway = _card_setup_gateway()
    _outside_transactions()
    ledger = billing_account(account)
    details = gateway.setup_verify(
        setup_intent_id=setup_intent_id,
        payment_method_id=payment_method_id,
        customer_id=ledger.gateway_customer_id,
    )
    with transaction.atomic():
        return _payment_method_record(account, ledger, gateway.name, details)


# --- subscriptions --------------------------------------------------------------------------


def _redeem_coupon(code: str, currency: str) -> Coupon | None:
    code = code.strip().upper()
    if not code:
        return None
    coupon = Coupon.objects.filter(code=code, is_active=True).first()
    if coupon is None or (coupon.kind == Coupon.Kind.AMOUNT and coupon.currency != currency):
        raise ValidationFailed(
            "That promotion code is not valid.", extra={"fields": {"coupon": ["Invalid."]}}
        )
    redeemed = (
        Coupon.objects.filter(pk=coupon.pk)
        .filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if not redeemed:
        raise ValidationFailed(
            "That promotion code has been used up.", extra={"fields": {"coupon": ["Used up."]}}
        )
    return coupon


def _coupon_periods(coupon: Coupon | None) -> int | None:
    if coupon is None or coupon.duration == Coupon.Duration.FOREVER:
        return None
    return 1 if coupon.duration == Coupon.Duration.ONCE else coupon.duration_periods


def subscription_start(
    *,
    account: Any,
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
        raise ValidationFailed("No such plan.", extra={"fields": {"plan": ["Unknown plan."]}})
    price = _price(plan, currency)
    existing = Subscription.objects.select_related("plan").filter(account=account).first()
    if existing is not None and existing.status == S.INCOMPLETE:
        return _checkout_resume(existing, plan, now)
    if existing is not None and existing.status not in (S.CANCELED, S.EXPIRED):
        if resuming and existing.plan_id == plan.pk:
            return existing
        raise Conflict("This account already has a subscription; change its plan instead.")
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
            raise Conflict("This account already has a subscription; change its plan instead.")
        if method is None:
            method = PaymentMethod.objects.filter(account=account).first()
        if method is None:
            raise ValidationFailed(
                "A card is required.", extra={"fields": {"card_token": ["Required."]}}
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
                raise Conflict("This account already has a subscription.") from None
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
                raise Conflict("The subscription changed meanwhile; try again.")
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
        raise Conflict("A checkout for this account is in progress; try again shortly.")
    if sub.plan_id != plan.pk:
        raise Conflict("A checkout for another plan is in progress; try again shortly.")
    _collect_or_decline(payment, now)
    sub.refresh_from_db()
    return sub


def live_subscription(account: Any, *, lock: bool = False) -> Subscription:
    qs = Subscription.objects.select_related("plan", "pending_plan")
    if lock:
        qs = qs.select_for_update(of=("self",))
    sub = qs.filter(account=account).first()
    if sub is None or sub.status not in LIVE_STATUSES:
        raise NotFound("You have no active subscription.")
    return sub


def change_preview(*, account: Any, plan_code: str, now: datetime | None = None) -> dict[str, Any]:
    """What changing to plan_code would do and cost now (nothing is written)."""
    now = now or clock.now()
    sub = live_subscription(account)
    new = Plan.objects.available().filter(code=plan_code).first()
    if new is None:
        raise ValidationFailed("No such plan.", extra={"fields": {"plan": ["Unknown plan."]}})
    if new.pk == sub.plan_id:
        raise ValidationFailed(
            "That is your current plan.", extra={"fields": {"plan": ["Current plan."]}}
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
    account: Any,
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
                raise Conflict("A plan change is being paid; try again shortly.")
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
            raise Conflict("Pay the open invoice before changing plan.")
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
    *, account: Any, now: datetime | None = None, actor: str = ""
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
def subscription_resume(*, account: Any, now: datetime | None = None) -> Subscription:
    now = now or clock.now()
    sub = live_subscription(account, lock=True)
    if not sub.cancel_at_period_end:
        raise ValidationFailed("The subscription is not set to cancel.")
    if now >= sub.current_period_end:
        raise Conflict("The period has ended; pick a plan to reactivate.")
    _transition(
        sub, to=sub.status, kind="resumed", now=now, cancel_at_period_end=False, canceled_at=None
    )
    return sub


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
        customer_id = ledgers[invoice.account_id].gateway_customer_id
        charges.append((payment, invoice, customer_id))
    Payment.objects.bulk_create([payment for payment, _, _ in charges])
    return renewals, charges


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def invoice_retry(*, invoice_id: int, now: datetime | None = None, manual: bool = False) -> str:
    """One more charge attempt on an open invoice (dunning schedule, or the customer asks).

    The customer's own retry (manual) finishes an attempt in flight with its key instead of
    opening another; the schedule leaves one in flight to the sweep."""
    now = now or clock.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_related("subscription").filter(pk=invoice_id).first()
        if invoice is None or invoice.status != InvoiceStatus.OPEN:
            return "not_open"
        if not manual and (invoice.next_attempt_at is None or invoice.next_attempt_at > now):
            return "not_due"
        payment = _open_attempt(invoice, now)
        if payment is None and manual:
            payment = _pending_payment_of(invoice)
        if payment is None:
            return "raced"
    try:
        payment = _collect_one(payment, now)
    except GatewayUnavailable:
        return "pending"
    return payment.status


def invoice_pay(
    *, account: Any, invoice_id: int, now: datetime | None = None, resuming: bool = False
) -> Invoice:
    """The customer pays an open invoice now (e.g. after updating the card). `resuming` (a
    retried Idempotency-Key) answers with the invoice its first run paid."""
    invoice = Invoice.objects.for_account(account).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    if resuming and invoice.status == InvoiceStatus.PAID:
        return invoice
    if invoice.status != InvoiceStatus.OPEN:
        raise Conflict("This invoice is not open.")
    outcome = invoice_retry(invoice_id=invoice.pk, now=now, manual=True)
    invoice.refresh_from_db()
    if outcome == PaymentStatus.FAILED:
        payment = invoice.payments.order_by("-attempt").first()
        raise PaymentDeclined(payment.failure_message if payment else "Your card was declined.")
    if outcome == "raced":
        raise Conflict("A payment for this invoice is already in progress.")
    if outcome == "pending":
        raise GatewayUnavailable("The payment provider is unavailable; try again shortly.")
    return invoice


def payment_sweep(
    *, now: datetime | None = None, older_than: timedelta = timedelta(minutes=15)
) -> int:
    """Reconcile with the gateway what never got an answer: pending charges (their own key
    again; the gateway answers with the first charge, so nothing is charged twice) and
    pending refunds likewise. Returns how many were settled."""
    now = now or clock.now()
    stale = list(
        Payment.objects.filter(
            status=PaymentStatus.PENDING, gateway_charge_id="", created_at__lte=now - older_than
        ).order_by("pk")[:200]
    )
    applied, _unreachable = payment_collect(payments=stale, now=now)
    count = len(applied)
    notes = CreditNote.objects.filter(
        status=CreditNote.Status.PENDING, created_at__lte=now - older_than
    ).order_by("pk")[:200]
    for note in notes:
        try:
            refund_collect(note_id=note.pk, now=now)
            count += 1
        except (GatewayUnavailable, ValidationFailed):
            continue
    return count


# --- refunds and credits --------------------------------------------------------------------


def invoice_refund(
    *,
    invoice_id: int,
    amount: int | None,
    reason: str,
    request_key: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> CreditNote:
    """Refund all (amount=None) or part of a paid invoice through the gateway; a credit note.

    The charge protocol, for a refund: (a) a pending credit note with its gateway key
    `refund_<invoice>_<request_key or sequence>` is committed; (b) the gateway is asked
    outside any transaction; (c) the note is issued by a conditional update (refund_collect).
    The same request_key (the admin form's, resubmitted after a crash) finds its note and
    finishes it instead of refunding again; another refund waits while one is in flight.
    """
    now = now or clock.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise NotFound("No such invoice.")
        key = f"refund_{invoice.pk}_{request_key}" if request_key else ""
        note = CreditNote.objects.filter(idempotency_key=key).first() if key else None
        if note is None:
            if invoice.credit_notes.filter(status=CreditNote.Status.PENDING).exists():
                raise Conflict("A refund of this invoice is in progress; try again shortly.")
            payment = invoice.payments.filter(status=PaymentStatus.SUCCEEDED).first()
            refundable = invoice.amount_paid - invoice.amount_credited
            if payment is None or refundable <= 0:
                raise ValidationFailed("Nothing on this invoice can be refunded.")
            amount = refundable if amount is None else amount
            if amount <= 0 or amount > refundable:
                raise ValidationFailed(
                    f"Refund between 1 and {refundable} minor units.",
                    extra={
                        "fields": {
                            "amount": [
                                f"At most {money.format_money(refundable, invoice.currency)}."
                            ]
                        }
                    },
                )
            note = _refund_open(
                invoice=invoice,
                payment=payment,
                amount=amount,
                reason=reason,
                key=key,
                actor=actor,
                now=now,
            )
    if note.status == CreditNote.Status.ISSUED:
        return note
    if note.status == CreditNote.Status.FAILED:
        raise ValidationFailed("The payment gateway refused this refund.")
    return refund_collect(note_id=note.pk, now=now)


def _refund_open(
    *,
    invoice: Invoice,
    payment: Payment,
    amount: int,
    reason: str,
    key: str,
    actor: Any,
    now: datetime,
) -> CreditNote:
    """Step (a) of a refund: a pending credit note and its gateway key. Call under the
    invoice's row lock (the sequence number)."""
    sequence = invoice.credit_notes.count() + 1
    return _credit_note_create(
        invoice=invoice,
        payment=payment,
        amount=amount,
        reason=reason[:255] or "Refund",
        status=CreditNote.Status.PENDING,
        key=key or f"refund_{invoice.pk}_{sequence}",
        actor=actor,
        now=now,
        sequence=sequence,
    )


def refund_collect(*, note_id: int, now: datetime | None = None) -> CreditNote:
    """Steps (b) and (c) of a refund: the gateway with the note's key (outside any
    transaction; the same key returns the first refund), then `pending -> issued` and the
    invoice's and payment's totals, once. A refusal marks the note failed (ValidationFailed);
    an unreachable gateway leaves it pending for the sweep (GatewayUnavailable)."""
    now = now or clock.now()
    note = CreditNote.objects.select_related("payment").get(pk=note_id)
    if note.status != CreditNote.Status.PENDING or note.payment is None:
        return note
    _outside_transactions()
    try:
        result = get_gateway(note.payment.gateway).refund(
            charge_id=note.payment.gateway_charge_id,
            amount=note.amount,
            idempotency_key=note.idempotency_key or "",
        )
    except ValidationFailed:
        CreditNote.objects.filter(pk=note.pk, status=CreditNote.Status.PENDING).update(
            status=CreditNote.Status.FAILED
        )
        raise
    with transaction.atomic():
        issued = CreditNote.objects.filter(pk=note.pk, status=CreditNote.Status.PENDING).update(
            status=CreditNote.Status.ISSUED, gateway_refund_id=result.refund_id
        )
        if issued == 1:
            _credit_note_book(note.invoice_id, note.payment_id, note.amount)
    note.refresh_from_db()
    return note


def _collect_refund_on_commit(note_id: int) -> None:
    from billing import tasks

    tasks.collect_refund.delay_on_commit(note_id)  # type: ignore[attr-defined]


def _credit_note_create(
    *,
    invoice: Invoice,
    payment: Payment | None,
    amount: int,
    reason: str,
    status: str,
    key: str | None,
    actor: Any,
    now: datetime,
    sequence: int | None = None,
) -> CreditNote:
    """The one place a credit note is written (numbered `CN-<invoice>-<n>`); an issued one is
    booked on the invoice and payment at once, a pending one when the gateway confirms."""
    sequence = sequence or invoice.credit_notes.count() + 1
    note = CreditNote.objects.create(
        invoice=invoice,
        number=f"CN-{invoice.number}-{sequence}",
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        payment=payment,
        status=status,
        idempotency_key=key,
        created_by=actor,
        created_at=now,
    )
    if status == CreditNote.Status.ISSUED:
        _credit_note_book(invoice.pk, payment.pk if payment else None, amount)
    return note


def _credit_note_book(invoice_id: int, payment_id: int | None, amount: int) -> None:
    Invoice.objects.filter(pk=invoice_id).update(amount_credited=F("amount_credited") + amount)
    if payment_id is not None:
        Payment.objects.filter(pk=payment_id).update(amount_refunded=F("amount_refunded") + amount)


@transaction.atomic
def payment_sync_refunded(
    *, payment: Payment, amount_refunded: int, now: datetime
) -> CreditNote | None:
    """A refund made at the gateway (e.g. its dashboard): record the difference as a credit
    note. The caller waits while one of our refunds of this payment is still pending (its
    amount is in the gateway's total but not yet in ours)."""
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    payment.refresh_from_db()
    missing = min(amount_refunded, payment.amount) - payment.amount_refunded
    if missing <= 0:
        return None
    return _credit_note_create(
        invoice=invoice,
        payment=payment,
        amount=missing,
        reason="Refunded at the payment gateway",
        status=CreditNote.Status.ISSUED,
        key=None,
        actor=None,
        now=now,
    )


@transaction.atomic
def account_credit(
    *, account: Any, amount: int, note: str, actor: Any = None, now: datetime | None = None
) -> BalanceTransaction:
    """Grant a manual credit (minor units, account currency); applied to the next invoices."""
    now = now or clock.now()
    if amount <= 0:
        raise ValidationFailed(
            "A credit must be positive.", extra={"fields": {"amount": ["Must be > 0."]}}
        )
    ledger = billing_account(account)
    BillingAccount.objects.filter(pk=ledger.pk).update(credit_balance=F("credit_balance") + amount)
    return BalanceTransaction.objects.create(
        account=account,
        kind=BalanceTransaction.Kind.MANUAL_CREDIT,
        amount=amount,
        currency=ledger.currency,
        note=note[:255],
        created_by=actor,
        created_at=now,
    )


@transaction.atomic
def subscription_apply_coupon(
    *, account: Any, code: str, now: datetime | None = None
) -> Subscription:
    """Redeem a promotion code on the live subscription; it applies from the next invoice."""
    now = now or clock.now()
    sub = live_subscription(account, lock=True)
    coupon = _redeem_coupon(code, sub.currency)
    if coupon is None:
        raise ValidationFailed(
            "Enter a promotion code.", extra={"fields": {"coupon": ["Required."]}}
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
