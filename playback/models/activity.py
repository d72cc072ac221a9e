"""Viewing activity per profile: the event log, progress, My List and thumbs ratings."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ViewingEvent(models.Model):
    """Append-only log of what a profile watched. Never updated; deleted only by the viewer."""

    class Type(models.TextChoices):
        PLAY = "play", "Play"
        PROGRESS = "progress", "Progress"
        COMPLETE = "complete", "Complete"

    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="viewing_events"
    )
    title = models.ForeignKey(
        "catalog.Title", on_delete=models.CASCADE, related_name="viewing_events"
    )
    episode = models.ForeignKey(
        "catalog.Episode", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event_type = models.CharField(max_length=10, choices=Type.choices)
    position_seconds = models.PositiveIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(default=0)
    occurred_at = models.DateTimeField(default=timezone.now)
    # Set by importers ("movielens:<user>:<movie>") so a re-run inserts nothing twice.
    import_key = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        db_table = "catalog_viewingevent"  # kept from when catalog owned it: no data moved
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["profile", "-occurred_at"], name="catalog_event_profile_recent"),
            models.Index(fields=["title", "event_type"], name="catalog_event_title_type"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["import_key"],
                condition=~models.Q(import_key=""),
                name="catalog_event_import_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.event_type} {self.title_id}"


class Progress(models.Model):
    """Where a profile is in a movie or an episode. Newer heartbeats win, whatever the order."""

    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="progress"
    )
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(
        "catalog.Episode", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    position_seconds = models.PositiveIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(default=0)
    completed = models.BooleanField(default=False)
    # The occurred_at of the heartbeat this row reflects; an older one never overwrites it.
    last_event_at = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "catalog_progress"  # kept from when catalog owned it: no data moved
        ordering = ["-last_event_at", "-id"]
        verbose_name_plural = "progress"
        indexes = [
            models.Index(fields=["profile", "-last_event_at"], name="catalog_progress_recent"),
            # the recommender's activity scan (every minute): what changed since its watermark
            models.Index(fields=["updated_at"], name="catalog_progress_updated"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "title"],
                condition=models.Q(episode__isnull=True),
                name="catalog_progress_movie_unique",
            ),
            models.UniqueConstraint(
                fields=["profile", "episode"],
                condition=models.Q(episode__isnull=False),
                name="catalog_progress_episode_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} at {self.position_seconds}s of {self.title_id}"


class MyListEntry(models.Model):
    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="my_list"
    )
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "catalog_mylistentry"  # kept from when catalog owned it: no data moved
        ordering = ["-added_at", "-id"]
        verbose_name_plural = "my list entries"
        indexes = [models.Index(fields=["added_at"], name="catalog_mylist_added")]  # (the scan)
        constraints = [
            models.UniqueConstraint(fields=["profile", "title"], name="catalog_mylist_unique")
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} listed {self.title_id}"


class ThumbRating(models.Model):
    """Thumbs up (+1) or down (-1). `score` keeps an imported star rating (MovieLens 0.5-5)."""

    UP = 1
    DOWN = -1

    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="ratings"
    )
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="ratings")
    value = models.SmallIntegerField(choices=[(UP, "Thumbs up"), (DOWN, "Thumbs down")])
    score = models.FloatField(null=True, blank=True)
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "catalog_thumbrating"  # kept from when catalog owned it: no data moved
        ordering = ["-rated_at", "-id"]
        indexes = [
            models.Index(fields=["title", "value"], name="catalog_rating_title_value"),
            models.Index(fields=["rated_at"], name="catalog_rating_rated"),  # (the scan)
        ]
        constraints = [
            models.UniqueConstraint(fields=["profile", "title"], name="catalog_rating_unique"),
            models.CheckConstraint(
                condition=models.Q(value__in=[1, -1]), name="catalog_rating_pm1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.value:+d} {self.title_id}"
