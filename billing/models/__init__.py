"""Models of the billing app, one module per area; re-exported here so Django finds them.

Money is always an integer amount of the currency's minor unit plus an ISO 4217 code
(billing/money.py). State changes happen through conditional updates in services.
"""

from billing.models.customers import BalanceTransaction, BillingAccount, PaymentMethod
from billing.models.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceQuerySet,
    InvoiceSequence,
    InvoiceStatus,
)
from billing.models.payments import CreditNote, Payment, PaymentStatus
from billing.models.plans import Coupon, Interval, Plan, PlanQuerySet, Price
from billing.models.received import IdempotencyRecord, WebhookEvent
from billing.models.sandbox import SandboxCard, SandboxCharge, SandboxRefund
from billing.models.subscriptions import (
    LIVE_STATUSES,
    Subscription,
    SubscriptionEvent,
    SubscriptionQuerySet,
    SubscriptionStatus,
)

__all__ = [
    "LIVE_STATUSES",
    "BalanceTransaction",
    "BillingAccount",
    "Coupon",
    "CreditNote",
    "IdempotencyRecord",
    "Interval",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceQuerySet",
    "InvoiceSequence",
    "InvoiceStatus",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Plan",
    "PlanQuerySet",
    "Price",
    "SandboxCard",
    "SandboxCharge",
    "SandboxRefund",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionQuerySet",
    "SubscriptionStatus",
    "WebhookEvent",
]
