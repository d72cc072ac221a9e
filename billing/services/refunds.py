"""Refunds and credit notes: the refund protocol, gateway-made refunds, manual account credit."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from accounts.models import User
from audit.services import record
from billing import clock, money
from billing.gateways import (
    get_gateway,
)
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    CreditNote,
    Invoice,
    Payment,
    PaymentStatus,
)
from billing.services._core import (
    _outside_transactions,
    billing_account,
)
from streamsite.errors import Conflict, NotFound, ValidationFailed


def invoice_refund(
    *,
    invoice_id: int,
    amount: int | None,
    reason: str,
    request_key: str = "",
    actor: User | None = None,
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
            raise NotFound(gettext("No such invoice."))
        key = f"refund_{invoice.pk}_{request_key}" if request_key else ""
        note = CreditNote.objects.filter(idempotency_key=key).first() if key else None
        if note is None:
            if invoice.credit_notes.filter(status=CreditNote.Status.PENDING).exists():
                raise Conflict(
                    gettext("A refund of this invoice is in progress; try again shortly.")
                )
            payment = invoice.payments.filter(status=PaymentStatus.SUCCEEDED).first()
            refundable = invoice.amount_paid - invoice.amount_credited
            if payment is None or refundable <= 0:
                raise ValidationFailed(gettext("Nothing on this invoice can be refunded."))
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
            record(
                action="billing.refund",
                obj=invoice,
                actor=actor,
                after={"credit_note": note.number, "amount": amount, "currency": note.currency},
            )
    if note.status == CreditNote.Status.ISSUED:
        return note
    if note.status == CreditNote.Status.FAILED:
        raise ValidationFailed(gettext("The payment gateway refused this refund."))
    return refund_collect(note_id=note.pk, now=now)


def _refund_open(
    *,
    invoice: Invoice,
    payment: Payment,
    amount: int,
    reason: str,
    key: str,
    actor: User | None,
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
    actor: User | None,
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
    *, account: User, amount: int, note: str, actor: User | None = None, now: datetime | None = None
) -> BalanceTransaction:
    """Grant a manual credit (minor units, account currency); applied to the next invoices."""
    now = now or clock.now()
    if amount <= 0:
        raise ValidationFailed(
            gettext("A credit must be positive."),
            extra={"fields": {"amount": [gettext("Must be > 0.")]}},
        )
    ledger = billing_account(account)
    BillingAccount.objects.filter(pk=ledger.pk).update(credit_balance=F("credit_balance") + amount)
    record(
        action="billing.credit",
        obj=ledger,
        actor=actor,
        after={"amount": amount, "currency": ledger.currency, "note": note[:200]},
    )
    return BalanceTransaction.objects.create(
        account=account,
        kind=BalanceTransaction.Kind.MANUAL_CREDIT,
        amount=amount,
        currency=ledger.currency,
        note=note[:255],
        created_by=actor,
        created_at=now,
    )
