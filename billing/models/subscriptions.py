"""A subscription, its states, and the log of every change to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.models.customers import PaymentMethod
from billing.models.plans import Coupon, Plan
from billing.money import CURRENCY_CHOICES


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
