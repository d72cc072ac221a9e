"""Reads the catalogue pages need from playback: where Play goes, where the profile stopped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse

from catalog.models import Episode, Title
from playback import ports
from playback.models import Progress

if TYPE_CHECKING:
    from accounts.models import Profile


def first_episode(title: Title) -> Episode | None:
    return (
        Episode.objects.filter(season__title=title)
        .select_related("season")
        .order_by("season__number", "number")
        .first()
    )


def play_url(title: Title, profile: Profile | None, episode: Episode | None = None) -> str | None:
    """CATALOG_PLAY_URL_PROVIDER: the watch page when there is a video to play, else None
    (the title page then says "not yet available"). A series plays `episode`, else its first."""
    if title.kind == Title.Kind.SERIES:
        episode = episode or first_episode(title)
        if episode is None or not ports.has_asset(title=title, episode=episode):
            return None
        return reverse("playback:watch-episode", args=[title.pk, episode.pk])
    if not ports.has_asset(title=title, episode=None):
        return None
    return reverse("playback:watch", args=[title.pk])


@dataclass(frozen=True)
class ResumePoint:
    position_seconds: int
    duration_seconds: int
    episode: Episode | None

    @property
    def label(self) -> str:
        """ "12:34" or "1:02:03": where the profile stopped."""
        minutes, seconds = divmod(self.position_seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @property
    def percent(self) -> int:
        if not self.duration_seconds:
            return 0
        return min(100, round(100 * self.position_seconds / self.duration_seconds))


def resume_point(profile: Profile | None, title: Title) -> ResumePoint | None:
    """The profile's latest unfinished position in this title (movie or any episode), or None."""
    if profile is None:
        return None
    row = (
        Progress.objects.filter(profile=profile, title=title, completed=False)
        .select_related("episode__season")
        .order_by("-last_event_at", "-id")
        .first()
    )
    if row is None or row.position_seconds <= 0:
        return None
    return ResumePoint(row.position_seconds, row.duration_seconds, row.episode)
