"""Dunning: retries of open invoices, the customer's pay now, and the sweep that
reconciles unanswered charges and refunds with the gateway."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.gateways import (
    GatewayUnavailable,
)
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)
from billing.services._core import (
    PaymentDeclined,
)
from billing.services.payments import (
    _collect_one,
    _open_attempt,
    _pending_payment_of,
    payment_collect,
)
from billing.services.refunds import (
    refund_collect,
)
from streamsite.errors import Conflict, NotFound, ValidationFailed


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
    *, account: User, invoice_id: int, now: datetime | None = None, resuming: bool = False
) -> Invoice:
    """The customer pays an open invoice now (e.g. after updating the card). `resuming` (a
    retried Idempotency-Key) answers with the invoice its first run paid."""
    invoice = Invoice.objects.for_account(account).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(gettext("No such invoice."))
    if resuming and invoice.status == InvoiceStatus.PAID:
        return invoice
    if invoice.status != InvoiceStatus.OPEN:
        raise Conflict(gettext("This invoice is not open."))
    outcome = invoice_retry(invoice_id=invoice.pk, now=now, manual=True)
    invoice.refresh_from_db()
    if outcome == PaymentStatus.FAILED:
        payment = invoice.payments.order_by("-attempt").first()
        raise PaymentDeclined(payment.failure_message if payment else "Your card was declined.")
    if outcome == "raced":
        raise Conflict(gettext("A payment for this invoice is already in progress."))
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
