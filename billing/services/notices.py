"""Emails billing owes its customers, written to the outbox in the transaction of the change
that causes them: committed together or not at all, delivered after commit, swept if lost."""

from __future__ import annotations

from django.utils import formats, translation
from django.utils.translation import gettext

from accounts.selectors import supported_language
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
    # In the account's language (these are sent by tasks, off any request).
    language = supported_language(invoice.account.language) or translation.get_language()
    with translation.override(language):
        subject, body = _payment_failed_text(invoice, final)
    email_enqueue(to=invoice.account.email, subject=subject, body=body)
    return True


def _payment_failed_text(invoice: Invoice, final: bool) -> tuple[str, str]:
    params = {
        "amount": money.format_money(invoice.total, invoice.currency),
        "number": invoice.number,
    }
    if final or (
        invoice.subscription and invoice.subscription.status == SubscriptionStatus.CANCELED
    ):
        subject = gettext("Your Streamsite subscription was canceled")
        body = gettext(
            "We could not collect %(amount)s for invoice %(number)s after several tries, so "
            "your subscription has been canceled. Pick a plan any time to come back."
        )
        return subject, body % params
    subject = gettext("Your Streamsite payment failed")
    if invoice.next_attempt_at:
        when = formats.date_format(invoice.next_attempt_at, "SHORT_DATE_FORMAT")
        body = gettext(
            "We could not collect %(amount)s for invoice %(number)s. We will try again on "
            "%(when)s. Update your card on the billing page to keep watching."
        )
        return subject, body % {**params, "when": when}
    body = gettext(
        "We could not collect %(amount)s for invoice %(number)s. We will try again soon. "
        "Update your card on the billing page to keep watching."
    )
    return subject, body % params
