"""Quality of experience reported by the player: one summary row per session and per-minute
sums per edge. No per-event rows: each report is folded into both at once."""

from __future__ import annotations

from django.db import models

from playback.models.sessions import PlaybackSession


class QoeSession(models.Model):
    """What one session's player reported, summed. Ratios are computed when read:
    rebuffering ratio = stall_ms / played_ms, average bitrate = bitrate_kbps_ms / played_ms."""

    session = models.OneToOneField(
        PlaybackSession, on_delete=models.CASCADE, primary_key=True, related_name="qoe"
    )
    # Copied from the session so the daily rollup reads one table by an index.
    started_at = models.DateTimeField(db_index=True)
    # Time to first frame: from the player's start to the first "playing"; null = never started.
    startup_ms = models.PositiveIntegerField(null=True, blank=True)
    played_ms = models.BigIntegerField(default=0)
    stall_count = models.PositiveIntegerField(default=0)
    stall_ms = models.BigIntegerField(default=0)
    bitrate_kbps_ms = models.BigIntegerField(default=0)
    switches = models.PositiveIntegerField(default=0)
    level = models.SmallIntegerField(null=True, blank=True)
    dropped_frames = models.BigIntegerField(default=0)
    fatal_errors = models.PositiveIntegerField(default=0)
    recovered_errors = models.PositiveIntegerField(default=0)
    edge = models.CharField(max_length=255, blank=True, default="")
    reports = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "QoE session"

    def __str__(self) -> str:
        return f"QoE {self.session_id}"

    @property
    def rebuffering_ratio(self) -> float | None:
        watched = self.played_ms + self.stall_ms
        return self.stall_ms / watched if watched else None

    @property
    def average_kbps(self) -> float | None:
        return self.bitrate_kbps_ms / self.played_ms if self.played_ms else None


class QoeMinute(models.Model):
    """Reports of every session summed per minute and edge (the live view and trends)."""

    minute = models.DateTimeField()
    edge = models.CharField(max_length=255, blank=True, default="")
    reports = models.PositiveIntegerField(default=0)
    starts = models.PositiveIntegerField(default=0)
    startup_ms = models.BigIntegerField(default=0)
    played_ms = models.BigIntegerField(default=0)
    stall_count = models.PositiveIntegerField(default=0)
    stall_ms = models.BigIntegerField(default=0)
    bitrate_kbps_ms = models.BigIntegerField(default=0)
    switches = models.PositiveIntegerField(default=0)
    dropped_frames = models.BigIntegerField(default=0)
    fatal_errors = models.PositiveIntegerField(default=0)
    recovered_errors = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "QoE minute"
        constraints = [
            models.UniqueConstraint(fields=["minute", "edge"], name="playback_qoe_minute_edge")
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.edge or '-'}"
