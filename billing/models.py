"""Models of the billing app: plans and prices, subscriptions, invoices, payments, webhooks.

Money is always an integer amount of the currency's minor unit plus an ISO 4217 code
(see billing/money.py). State changes happen through conditional updates in services.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing import money

CURRENCY_CHOICES = [(code, code) for code in money.CURRENCIES]


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class PlanQuerySet(models.QuerySet["Plan"]):
    def available(self) -> PlanQuerySet:
        """Plans a new subscriber may pick (retired plans keep their existing subscribers)."""
        return self.filter(is_active=True)


class Plan(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True, default="")
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    max_streams = models.PositiveSmallIntegerField()
    max_resolution = models.PositiveSmallIntegerField(help_text="Frame height: 720, 1080, 2160.")
    max_profiles = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(
        default=True, help_text="Off: retired. Existing subscribers stay; nobody new can pick it."
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name

    def price_for(self, currency: str) -> Price | None:
        for price in self.prices.all():
            if price.currency == currency:
                return price
        return None


class Price(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.BigIntegerField(help_text="Minor units per interval (cents; yen for JPY).")

    class Meta:
        ordering = ["plan_id", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency"], name="billing_price_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {money.format_money(self.amount, self.currency)}"


class BillingAccount(models.Model):
    """Billing side of an account: its currency, gateway customer and credit balance."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing"
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    credit_balance = models.BigIntegerField(default=0, help_text="Credit owed to the customer.")
    gateway_customer_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_balance__gte=0), name="billing_balance_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"billing for {self.account_id}"


class BalanceTransaction(models.Model):
    """Ledger of the credit balance: + credit granted, - credit applied to an invoice."""

    class Kind(models.TextChoices):
        MANUAL_CREDIT = "manual_credit", "Manual credit"
        APPLIED = "applied", "Applied to invoice"

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="balance_transactions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class PaymentMethod(models.Model):
    """A card as the gateway's token plus what we may show. Never the card number."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_methods"
    )
    gateway = models.CharField(max_length=16)
    token = models.CharField(max_length=128)
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "token"], name="billing_pm_token_unique")
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"

    class Duration(models.TextChoices):
        ONCE = "once", "Once"
        REPEATING = "repeating", "Repeating"
        FOREVER = "forever", "Forever"

    code = models.CharField(max_length=32, unique=True, help_text="The promotion code, upper-case.")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_off = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True, default="")
    duration = models.CharField(max_length=10, choices=Duration.choices)
    duration_periods = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent_off__gte=1, percent_off__lte=100)
                    | Q(kind="amount", amount_off__gt=0)
                ),
                name="billing_coupon_value",
            ),
            models.CheckConstraint(
                condition=~Q(duration="repeating") | Q(duration_periods__gte=1),
                name="billing_coupon_periods",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Incomplete (first payment in progress)"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


LIVE_STATUSES = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def live(self) -> SubscriptionQuerySet:
        return self.filter(status__in=LIVE_STATUSES)

    def due_for_renewal(self, now) -> SubscriptionQuerySet:  # type: ignore[no-untyped-def]
        return self.filter(
            status__in=(SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE),
            current_period_end__lte=now,
        )


class Subscription(models.Model):
    """One per account; it moves through the state machine and is reactivated in place."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    pending_plan = models.ForeignKey(
        Plan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Downgrade taking effect at the end of the current period.",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, db_index=True)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    billing_anchor_day = models.PositiveSmallIntegerField(default=1)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT)
    coupon_periods_left = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="Bumped by every state change.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "current_period_end"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.plan_id} {self.status}"


class SubscriptionEvent(models.Model):
    """The audit log: every state change of a subscription, append-only."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    from_status = models.CharField(max_length=10, blank=True, default="")
    to_status = models.CharField(max_length=10, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=64, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


class InvoiceKind(models.TextChoices):
    CREATE = "create", "First period"
    RENEWAL = "renewal", "Renewal"
    UPGRADE = "upgrade", "Upgrade proration"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def for_account(self, account) -> InvoiceQuerySet:  # type: ignore[no-untyped-def]
        return self.filter(account=account)


class Invoice(models.Model):
    """Finalised at creation: number, lines and totals never change afterwards.

    Only the payment state moves (open -> paid / uncollectible / void); corrections are
    credit notes.
    """

    # Null once the customer deleted their account: the invoice stays for the ledger and the
    # tax authority, without the person (docs/billing.md, "Leaving").
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    customer_country = models.CharField(
        max_length=2, blank=True, default="", help_text="Kept when the account is deleted."
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=8, choices=InvoiceKind.choices)
    number = models.CharField(max_length=16, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=14, choices=InvoiceStatus.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    subtotal = models.BigIntegerField()
    discount_total = models.BigIntegerField(default=0)
    tax_total = models.BigIntegerField(default=0)
    credit_applied = models.BigIntegerField(default=0)
    total = models.BigIntegerField(help_text="Sum of the lines; what is charged.")
    amount_paid = models.BigIntegerField(default=0)
    amount_credited = models.BigIntegerField(default=0, help_text="Sum of credit notes.")
    upgrade_to = models.ForeignKey(
        Plan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For an upgrade invoice: the plan switched to once it is paid.",
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One renewal invoice per subscription period, whoever runs the renewal.
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(kind="renewal"),
                name="billing_invoice_one_renewal_per_period",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="billing_invoice_total_nonneg"),
            models.CheckConstraint(
                condition=Q(amount_credited__lte=models.F("amount_paid")),
                name="billing_invoice_credit_le_paid",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Finalised at creation: later changes go through conditional .update() of the
        # payment-state fields in services, never through save(); corrections are credit notes.
        if self.pk is not None and not self._state.adding:
            raise ValueError("Invoices are immutable once finalised; issue a credit note.")
        super().save(*args, **kwargs)

    @property
    def amount_due(self) -> int:
        return 0 if self.status != InvoiceStatus.OPEN else self.total - self.amount_paid


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        PRORATION_CREDIT = "proration_credit", "Unused time (credit)"
        PRORATION_DEBIT = "proration_debit", "Remaining time (debit)"
        DISCOUNT = "discount", "Discount"
        TAX = "tax", "Tax"
        CREDIT = "credit", "Account credit applied"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=255)
    amount = models.BigIntegerField(help_text="Signed minor units.")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["invoice_id", "position"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class InvoiceSequence(models.Model):
    """The last invoice number used in a year; numbers are gap-free per year."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """One charge attempt on an invoice; its idempotency key goes to the gateway."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    attempt = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices)
    gateway = models.CharField(max_length=16)
    gateway_charge_id = models.CharField(max_length=64, blank=True, default="")
    failure_code = models.CharField(max_length=32, blank=True, default="")
    failure_message = models.CharField(max_length=255, blank=True, default="")
    amount_refunded = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], name="billing_payment_attempt"),
            # At most one successful charge per invoice, enforced by the database.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="succeeded"),
                name="billing_payment_one_success_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=models.F("amount")),
                name="billing_payment_refund_le_amount",
            ),
        ]
        indexes = [models.Index(fields=["gateway", "gateway_charge_id"])]

    def __str__(self) -> str:
        return self.idempotency_key


class CreditNote(models.Model):
    """A correction of a finalised invoice: money given back (a refund) or credited.

    A refund we start is `pending` (committed with its gateway idempotency key) until the
    gateway answers; only `issued` notes count in the invoice's and payment's totals."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=20, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reason = models.CharField(max_length=255)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT)
    gateway_refund_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    # Our refunds' gateway key (stable across retries); null for refunds made at the gateway.
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_creditnote_positive")
        ]

    def __str__(self) -> str:
        return self.number


class WebhookEvent(models.Model):
    """A gateway event, stored once by its id; processed by a task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    gateway = models.CharField(max_length=16)
    event_id = models.CharField(max_length=80)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    event_created = models.DateTimeField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    delivery_count = models.PositiveIntegerField(default=1)
    error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="billing_webhook_once")
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id}"


class IdempotencyRecord(models.Model):
    """A money-moving API request by key: its body hash and the response it got."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    # The request running it holds it until then (a lease: a crashed worker's claim expires).
    locked_until = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveSmallIntegerField(default=0, help_text="Times the work was started.")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="billing_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return self.key


# --- The sandbox gateway's own state (it plays the payment provider) ------------------------


class SandboxCard(models.Model):
    token = models.CharField(max_length=64, unique=True)
    behaviour = models.CharField(max_length=24)
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.token


class SandboxCharge(models.Model):
    charge_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    token = models.CharField(max_length=64)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10)
    failure_code = models.CharField(max_length=32, blank=True, default="")
    amount_refunded = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.charge_id


class SandboxRefund(models.Model):
    refund_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.refund_id
