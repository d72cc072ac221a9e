"""Writes for billing, by topic. Every change to a subscription, invoice or payment goes
through here; callers use `from billing import services` and the names below.

The charge protocol (docs/billing.md, "The charge protocol"), written once in `payments`:
(a) in one short transaction, the pending Payment and its gateway idempotency key
`inv_<invoice>_<attempt>` are committed (`payments._open_attempt`, or the renewal batch,
both through `payments._pending_payment`); (b) `payments.payment_collect` calls the gateway
outside any transaction or lock (a guard raises otherwise) with that key, so a retry gets the
first charge back; (c) it applies every result in one short transaction with conditional
updates, so applying it twice changes nothing. Refunds follow the same three steps
(`refunds.invoice_refund`, `refunds.refund_collect`).
"""

from __future__ import annotations

from billing.gateways import GatewayUnavailable
from billing.services._core import PaymentDeclined, billing_account, live_subscription
from billing.services.cards import card_setup_begin, payment_method_add, payment_method_from_setup
from billing.services.checkout import subscription_start
from billing.services.coupons import subscription_apply_coupon
from billing.services.dunning import invoice_pay, invoice_retry, payment_sweep
from billing.services.invoices import InvoiceDraft, Proration, add_interval, proration_for
from billing.services.leaving import account_close
from billing.services.payments import next_retry_at, payment_apply_result, payment_collect
from billing.services.refunds import (
    account_credit,
    invoice_refund,
    payment_sync_refunded,
    refund_collect,
)
from billing.services.renewals import subscriptions_renew
from billing.services.subscriptions import (
    change_preview,
    subscription_cancel,
    subscription_change_plan,
    subscription_resume,
)
from streamsite.errors import Conflict, DomainError, NotFound, ValidationFailed

__all__ = [
    "account_close",
    "Conflict",
    "DomainError",
    "GatewayUnavailable",
    "InvoiceDraft",
    "NotFound",
    "PaymentDeclined",
    "Proration",
    "ValidationFailed",
    "account_credit",
    "add_interval",
    "billing_account",
    "card_setup_begin",
    "change_preview",
    "invoice_pay",
    "invoice_refund",
    "invoice_retry",
    "live_subscription",
    "next_retry_at",
    "payment_apply_result",
    "payment_collect",
    "payment_method_add",
    "payment_method_from_setup",
    "payment_sweep",
    "payment_sync_refunded",
    "proration_for",
    "refund_collect",
    "subscription_apply_coupon",
    "subscription_cancel",
    "subscription_change_plan",
    "subscription_resume",
    "subscription_start",
    "subscriptions_renew",
]
