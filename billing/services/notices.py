"""Emails billing owes its customers, written to the outbox in the transaction of the change
that causes them: committed together or not at all, delivered after commit, swept if lost."""

from __future__ import annotations

from billing import money
from billing.models import Invoice, SubscriptionStatus
from streamsite.outbox import email_enqueue


def payment_failed_notice(*, invoice_id: int, final: bool) -> bool:
    """Tell the customer a charge failed: when the next try is, or (`final`, or the
    subscription already canceled) that dunning gave up. False when there is no one to tell."""
    invoice = (
        Invoice.objects.select_related("account", "subscription").filter(pk=invoice_id).first()
    )
    if invoice is None or invoice.account is None:
        return False  # gone, or its customer deleted the account
    amount = money.format_money(invoice.total, invoice.currency)
    if final or (
        invoice.subscription and invoice.subscription.status == SubscriptionStatus.CANCELED
    ):
        subject = "Your Streamsite subscription was canceled"
        body = (
            f"We could not collect {amount} for invoice {invoice.number} after several "
            "tries, so your subscription has been canceled. Pick a plan any time to come back."
        )
    else:
        when = invoice.next_attempt_at.strftime("%d %b %Y") if invoice.next_attempt_at else "soon"
        subject = "Your Streamsite payment failed"
        body = (
            f"We could not collect {amount} for invoice {invoice.number}. We will try again "
            f"on {when}. Update your card on the billing page to keep watching."
        )
    email_enqueue(to=invoice.account.email, subject=subject, body=body)
    return True
