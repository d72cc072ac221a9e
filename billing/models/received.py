"""What the outside sends, kept once: gateway webhook events, and money-moving API requests by
their idempotency key."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
