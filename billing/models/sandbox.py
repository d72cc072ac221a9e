"""The sandbox gateway's own state: it plays the payment provider."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
