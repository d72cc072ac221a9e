"""Leaving: an account's billing closed before the account is deleted.

The subscription ends at once (no further charge can be made), the cards are detached at the
gateway, and the ledger is kept with the customer's personal link removed. Retention rule
(docs/billing.md, "Leaving"): invoices, their lines, payments and credit notes stay, because
the ledger, refunds, chargebacks and a tax authority need them (number, date, lines, tax,
totals, currency, the gateway's charge ids, and the customer's country for the place of
supply); what identifies the person (the link to the account and so its email, name,
profiles) goes with the account.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from billing import clock
from billing.gateways import get_gateway
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Subscription,
    SubscriptionStatus,
)
from billing.services._core import _outside_transactions, _transition
from streamsite.errors import Conflict

S = SubscriptionStatus


def account_close(*, account: User, now: datetime | None = None) -> None:
    """Close the account's billing: cancel now, detach cards, keep the ledger anonymously.

    Refused (409) while a charge or refund of the account is in flight: its result must land
    on an invoice we still hold, so the customer tries again in a few minutes. Safe to run
    twice (a retry after the gateway was unreachable finishes the job).
    """
    now = now or clock.now()
    # (1) No further charges: the subscription ends and open invoices are voided, at once.
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(account=account).first()
        in_flight = (
            Payment.objects.filter(account=account, status=PaymentStatus.PENDING).exists()
            or CreditNote.objects.filter(
                invoice__account=account, status=CreditNote.Status.PENDING
            ).exists()
        )
        if in_flight:
            raise Conflict(
                gettext("A payment for this account is in progress; try again in a few minutes.")
            )
        Invoice.objects.filter(account=account, status=InvoiceStatus.OPEN).update(
            status=InvoiceStatus.VOID, next_attempt_at=None
        )
        if sub is not None and sub.status not in (S.CANCELED, S.EXPIRED):
            _transition(
                sub,
                to=S.CANCELED,
                kind="account_deleted",
                now=now,
                expected=(sub.status,),
                canceled_at=now,
                ended_at=now,
                cancel_at_period_end=False,
                pending_plan=None,
            )
    # (2) Stored cards detached at the gateway, outside any transaction of ours.
    _outside_transactions()
    for method in PaymentMethod.objects.filter(account=account).order_by("pk"):
        get_gateway(method.gateway).detach(token=method.token)
    # (3) The ledger kept, without the person: rows the account deletion would otherwise
    # cascade into or be blocked by.
    with transaction.atomic():
        Invoice.objects.filter(account=account).update(
            account=None, subscription=None, customer_country=account.effective_country
        )
        Payment.objects.filter(account=account).update(account=None)
        Subscription.objects.filter(account=account).delete()
        PaymentMethod.objects.filter(account=account).delete()
