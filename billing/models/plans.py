"""Plans, their price in each currency, and coupons."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing import money
from billing.money import CURRENCY_CHOICES


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
