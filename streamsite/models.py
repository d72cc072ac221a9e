"""Site-wide rows: the email outbox and the database's identity."""

from __future__ import annotations

from django.db import models


class OutboundEmail(models.Model):
    """One email to send, written in the transaction that asked for it (a transactional
    outbox): a lost task message or a killed worker leaves the row, and the sweep sends it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    # [[filename, content, mimetype], ...]
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    # When a task message was last sent for it; the sweep sends another after a grace period.
    enqueued_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "enqueued_at"], name="outbox_status_enqueued")]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject} ({self.status})"


class DatabaseIdentity(models.Model):
    """One row: a random token naming this database, written the first time it is asked for
    (streamsite.cache_claim). The shared cache records which database's site it serves by this
    token, so a second site pointed at the same cache, or a database put in place of this
    one, is told apart from this site's own processes."""

    token = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "database identity"

    def __str__(self) -> str:
        return self.token
