"""Rollups behind the staff dashboard: one row per day (and dimension), kept by beat tasks from
playback, cdn, billing and media, so the page reads a few hundred rows whatever the history."""

from __future__ import annotations

from django.db import models


class DailyTotals(models.Model):
    """A day of viewing, all titles and countries together (unique viewers do not add up)."""

    day = models.DateField(unique=True)
    plays = models.PositiveIntegerField(default=0)
    viewers = models.PositiveIntegerField(default=0, help_text="Distinct profiles that played")
    watched_ms = models.BigIntegerField(default=0, help_text="Playing time the players reported")
    peak_streams = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily totals"
        # The one permission the dashboard, its CSV files and its API check (insights.permissions).
        permissions = [("view_dashboard", "Can view the operators' dashboard")]

    def __str__(self) -> str:
        return str(self.day)


class DailyViewing(models.Model):
    """A day of one title in one country (the viewer's account country)."""

    day = models.DateField()
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2)
    plays = models.PositiveIntegerField(default=0)
    viewers = models.PositiveIntegerField(default=0)
    watched_ms = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "title", "country"], name="insights_viewing_once"
            )
        ]
        indexes = [models.Index(fields=["day", "country"], name="insights_viewing_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.country} {self.title_id}"


class DailyQoe(models.Model):
    """A day of QoE for one value of one dimension ("all", "site", "edge", "title", "device").

    Sessions are those whose player reported QoE. Video start time percentiles are over the
    sessions that started; exits before video start are ended sessions that never started.
    """

    class Dimension(models.TextChoices):
        ALL = "all", "All"
        SITE = "site", "Site"
        EDGE = "edge", "Edge"
        TITLE = "title", "Title"
        DEVICE = "device", "Device"

    day = models.DateField()
    dimension = models.CharField(max_length=8, choices=Dimension.choices)
    key = models.CharField(max_length=255)
    sessions = models.PositiveIntegerField(default=0)
    started = models.PositiveIntegerField(default=0)
    exits_before_start = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0, help_text="Sessions with a fatal error")
    startup_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    startup_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    played_ms = models.BigIntegerField(default=0)
    stall_ms = models.BigIntegerField(default=0)
    bitrate_kbps_ms = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "dimension", "key"], name="insights_qoe_once")
        ]
        indexes = [models.Index(fields=["dimension", "day"], name="insights_qoe_dim_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.key}"

    @property
    def rebuffering_ratio(self) -> float | None:
        watched = self.played_ms + self.stall_ms
        return self.stall_ms / watched if watched else None

    @property
    def average_kbps(self) -> float | None:
        return self.bitrate_kbps_ms / self.played_ms if self.played_ms else None

    @property
    def error_rate(self) -> float | None:
        return self.errored / self.sessions if self.sessions else None


class DailyEdge(models.Model):
    """A day of one edge's access log (summed from cdn's per-minute rows)."""

    day = models.DateField()
    edge = models.CharField(max_length=64)
    requests = models.BigIntegerField(default=0)
    lookups = models.BigIntegerField(default=0)
    hits = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    lookup_bytes = models.BigIntegerField(default=0)
    hit_bytes = models.BigIntegerField(default=0)
    origin_bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "edge"], name="insights_edge_once")]

    def __str__(self) -> str:
        return f"{self.day} {self.edge}"


class StreamSample(models.Model):
    """Live streams (playback leases) counted once a minute."""

    at = models.DateTimeField(unique=True)
    streams = models.PositiveIntegerField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.streams}"


class DailyRevenue(models.Model):
    """MRR and 30-day churn as billing reported them on that day, per currency."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    mrr = models.BigIntegerField(help_text="Minor units")
    churn_30d = models.FloatField()
    ended_30d = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "currency"], name="insights_revenue_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}"


class TopTitle(models.Model):
    """The most played titles per country over the 7 days ending on `day` (kept with the day's
    rollup, so the dashboard reads a few rows instead of a week of DailyViewing)."""

    day = models.DateField()
    country = models.CharField(max_length=2)
    rank = models.PositiveSmallIntegerField()
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="+")
    plays = models.PositiveIntegerField()
    watched_ms = models.BigIntegerField()

    class Meta:
        ordering = ["day", "country", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["day", "country", "rank"], name="insights_top_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.country} #{self.rank}"
