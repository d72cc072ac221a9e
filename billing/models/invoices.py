"""Invoices: finalised at creation, numbered without gaps per year, with their lines."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models.plans import Plan
from billing.models.subscriptions import Subscription
from billing.money import CURRENCY_CHOICES


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
