"""Media assets (a source video and its encoded HLS ladder), renditions and subtitles.

One MediaAsset row is both the servable asset and its job: `status`/`version` describe the
encode in flight, `ready_version`/`content_key` the one being served. A re-encode writes under
a new version prefix and only switches `content_key` when it is complete.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Episode, Title


class MediaAssetQuerySet(models.QuerySet["MediaAsset"]):
    def ready(self) -> MediaAssetQuerySet:
        """Assets with a complete, servable version (even while a re-encode runs)."""
        return self.filter(ready_version__isnull=False).exclude(content_key="")

    def in_flight(self) -> MediaAssetQuerySet:
        return self.filter(status__in=MediaAsset.RUNNING_STATUSES)

    def update(self, **kwargs: Any) -> int:
        """An update sends no signal: one that sets a field a ready-asset copy holds bumps
        the copies' version itself (media.ready_copies), after the write as a signal would; a
        heartbeat does not."""
        from media import ready_copies

        changed = super().update(**kwargs)
        if ready_copies.touches_copies(kwargs):
            ready_copies.ready_changed()
        return changed


class MediaAsset(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROBING = "probing", "Probing"
        TRANSCODING = "transcoding", "Transcoding"
        PACKAGING = "packaging", "Packaging"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    RUNNING_STATUSES = (Status.PROBING, Status.TRANSCODING, Status.PACKAGING)
    ACTIVE_STATUSES = (Status.QUEUED, *RUNNING_STATUSES)
    # The uploaded file, and what probing it found: copied together when a ready asset is shared.
    SOURCE_FIELDS = ("source_key", "source_name", "source_size", "source_sha256")
    PROBED_FIELDS = (
        "duration",
        "width",
        "height",
        "frame_rate",
        "video_codec",
        "audio_codec",
        "audio_channels",
    )
    # What a ready version is served from: published together, copied together when shared.
    SERVED_FIELDS = (
        "ready_version",
        "content_key",
        "master_key",
        "poster_key",
        "sprite_key",
        "thumbnails_vtt_key",
    )

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.ForeignKey(
        Title, null=True, blank=True, on_delete=models.CASCADE, related_name="media_assets"
    )
    episode = models.ForeignKey(
        Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="media_assets"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The uploaded source, kept whatever happens to the encode.
    source_key = models.CharField(max_length=500, blank=True, default="")
    source_name = models.CharField(max_length=255, blank=True, default="")
    source_size = models.BigIntegerField(default=0)
    source_sha256 = models.CharField(max_length=64, blank=True, default="")

    # The job.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    version = models.PositiveIntegerField(default=1)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    ffmpeg_command = models.TextField(blank=True, default="")
    log_tail = models.TextField(blank=True, default="")
    ladder_method = models.CharField(max_length=20, blank=True, default="")
    complexity = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # What the probe found.
    duration = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_rate = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=40, blank=True, default="")
    audio_codec = models.CharField(max_length=40, blank=True, default="")
    audio_channels = models.PositiveSmallIntegerField(null=True, blank=True)

    # The served version: every key below lives under content_key (`hls/<uuid>/<version>`).
    ready_version = models.PositiveIntegerField(null=True, blank=True)
    content_key = models.CharField(max_length=300, blank=True, default="")
    master_key = models.CharField(max_length=500, blank=True, default="")
    poster_key = models.CharField(max_length=500, blank=True, default="")
    sprite_key = models.CharField(max_length=500, blank=True, default="")
    thumbnails_vtt_key = models.CharField(max_length=500, blank=True, default="")
    ready_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MediaAssetQuerySet.as_manager()

    class Meta:
        db_table = "catalog_mediaasset"  # kept from when catalog owned it: no data moved
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(title__isnull=False, episode__isnull=True)
                    | Q(title__isnull=True, episode__isnull=False)
                ),
                name="catalog_mediaasset_one_owner",
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="catalog_media_status_hb")]

    def __str__(self) -> str:
        owner = self.title if self.title_id else self.episode
        return f"{owner} ({self.get_status_display()}, v{self.version})"

    @property
    def version_prefix(self) -> str:
        """Where the encode in flight writes."""
        return f"hls/{self.uuid}/{self.version}"


class Rendition(models.Model):
    """One rung of an encoded version: its variant playlist and measured numbers."""

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="renditions")
    version = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    target_bitrate = models.PositiveIntegerField(help_text="bits/s the ladder asked for")
    bandwidth = models.PositiveIntegerField(help_text="peak segment bits/s (BANDWIDTH)")
    average_bandwidth = models.PositiveIntegerField(help_text="mean bits/s (AVERAGE-BANDWIDTH)")
    codecs = models.CharField(max_length=100)
    frame_rate = models.FloatField()
    playlist_key = models.CharField(max_length=500)
    size_bytes = models.BigIntegerField(default=0)
    segment_count = models.PositiveIntegerField(default=0)
    vmaf = models.FloatField(null=True, blank=True)
    ssim = models.FloatField(null=True, blank=True)
    psnr = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "catalog_rendition"  # kept from when catalog owned it: no data moved
        ordering = ["asset_id", "version", "height"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "version", "height"], name="catalog_rendition_unique_rung"
            )
        ]

    def __str__(self) -> str:
        return f"{self.height}p @ {self.bandwidth // 1000} kb/s"


class SubtitleQuerySet(models.QuerySet["Subtitle"]):
    def update(self, **kwargs: Any) -> int:
        """An update sends no signal: it bumps the ready-asset copies' version itself
        (media.ready_copies), as a save or delete of a subtitle does (media.receivers)."""
        from media import ready_copies

        changed = super().update(**kwargs)
        ready_copies.ready_changed()
        return changed


class Subtitle(models.Model):
    """A subtitle track, stored as WebVTT; copied into each version's prefix when packaged."""

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="subtitles")
    language = models.CharField(max_length=16, help_text="BCP 47 tag, e.g. en, pt-BR")
    label = models.CharField(max_length=64)
    vtt_key = models.CharField(max_length=500, help_text="the canonical WebVTT file")
    created_at = models.DateTimeField(default=timezone.now)

    objects = SubtitleQuerySet.as_manager()

    class Meta:
        db_table = "catalog_subtitle"  # kept from when catalog owned it: no data moved
        ordering = ["asset_id", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "language"], name="catalog_subtitle_unique_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.language})"


class AudioRendition(models.Model):
    """One language of an encoded version's audio group: its own AAC playlist and segments,
    which every video rendition of the version plays with (docs/media.md, "Audio")."""

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="audio_renditions")
    version = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(help_text="the source's audio stream order")
    language = models.CharField(max_length=16, help_text="the source stream's tag, e.g. eng; und")
    name = models.CharField(max_length=64, help_text="what the player's audio menu shows")
    codecs = models.CharField(max_length=40)
    target_bitrate = models.PositiveIntegerField(help_text="bits/s the encoder aimed at")
    bandwidth = models.PositiveIntegerField(help_text="peak segment bits/s")
    average_bandwidth = models.PositiveIntegerField(help_text="mean bits/s")
    playlist_key = models.CharField(max_length=500)
    size_bytes = models.BigIntegerField(default=0)
    segment_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["asset_id", "version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "version", "position"], name="media_audio_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}) @ {self.average_bandwidth // 1000} kb/s"
