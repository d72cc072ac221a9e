"""Playback sessions: one concurrent-stream lease each, and the lock that serialises claims."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Episode, Title


class PlaybackSessionQuerySet(models.QuerySet["PlaybackSession"]):
    def live(self, now: datetime) -> PlaybackSessionQuerySet:
        """Sessions holding a lease at `now`: not ended and renewed recently enough."""
        return self.filter(ended_at__isnull=True, expires_at__gt=now)

    def for_account(self, account_id: int) -> PlaybackSessionQuerySet:
        return self.filter(account_id=account_id)


class PlaybackSession(models.Model):
    """One player playing one title or episode; the row is the stream's lease.

    The lease is live while `ended_at` is null and `expires_at` is in the future; heartbeats
    push `expires_at` forward. The plan's stream limit counts live rows per account.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: `catalog_pbs_account_exp` leads with the account, so it serves every
    # lookup by account (the plan's limit, the cascade from a deleted user) and a second index
    # would only be one more to write at every start and every heartbeat.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="playback_sessions",
        db_index=False,
    )
    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="playback_sessions"
    )
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    device = models.CharField(max_length=120, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    max_height = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, blank=True, default="")
    # Newest heartbeat applied (client sequence number); older ones never overwrite it.
    last_seq = models.BigIntegerField(default=-1)
    position_seconds = models.FloatField(default=0)
    duration_seconds = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=16, blank=True, default="")
    # Set when position changed but is not yet written through record_progress (DB buffer).
    progress_dirty = models.BooleanField(default=False)

    objects = PlaybackSessionQuerySet.as_manager()

    class Meta:
        db_table = "catalog_playbacksession"  # kept from when catalog owned it: no data moved
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "expires_at"], name="catalog_pbs_account_exp"),
            models.Index(
                fields=["progress_dirty"],
                condition=models.Q(progress_dirty=True),
                name="catalog_pbs_dirty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.device or 'device'})"

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now


class PlaybackAccountLock(models.Model):
    """One row per account, locked (SELECT ... FOR UPDATE) while a lease is claimed, so two
    session starts of one account are serialised even when it has no lease rows yet."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )

    class Meta:
        db_table = "catalog_playbackaccountlock"  # kept from when catalog owned it

    def __str__(self) -> str:
        return f"lock {self.account_id}"
