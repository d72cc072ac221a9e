"""Licensing windows: where and when a title may be shown."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Availability(models.Model):
    """A window in one country (ISO 3166-1 alpha-2), or everywhere when `country` is empty.

    Open-ended when `ends_at` is empty. The window is half-open: [starts_at, ends_at).
    """

    EVERYWHERE = ""

    title = models.ForeignKey(
        "catalog.Title", on_delete=models.CASCADE, related_name="availabilities"
    )
    country = models.CharField(max_length=2, blank=True, default="")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title_id", "country", "starts_at"]
        verbose_name_plural = "availabilities"
        indexes = [models.Index(fields=["country", "title"], name="catalog_avail_country_title")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="catalog_availability_window_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title_id} in {self.country or 'all countries'}"
