"""Payments and the charge protocol: the pending attempt and its key (step a),
`payment_collect` (steps b and c), and what a result does to invoice and subscription."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from billing import clock
from billing.gateways import (
    ChargeResult,
    GatewayUnavailable,
    get_gateway,
)
from billing.models import (
    LIVE_STATUSES,
    BillingAccount,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Subscription,
)
from billing.services import notices
from billing.services._core import (
    PaymentDeclined,
    S,
    _event,
    _outside_transactions,
    _transition,
)
from billing.services.refunds import (
    _collect_refund_on_commit,
    _refund_open,
)

logger = logging.getLogger(__name__)


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
        notices.payment_failed_notice(invoice_id=invoice.pk, final=False)
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
    notices.payment_failed_notice(invoice_id=invoice.pk, final=True)
