"""Charge attempts on invoices, and the credit notes that give money back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models.invoices import Invoice
from billing.money import CURRENCY_CHOICES


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
