"""An account's billing side: its currency and credit balance, the balance's ledger, its cards."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.money import CURRENCY_CHOICES


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
