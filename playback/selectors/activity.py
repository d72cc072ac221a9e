"""Viewing activity reads for one profile, always limited to titles the profile may still see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from catalog.models import Artwork, Episode
from catalog.selectors.titles import titles_for_profile
from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent

if TYPE_CHECKING:
    from accounts.models import Profile
    from catalog.models import Title

_ART = Prefetch("title__artwork", queryset=Artwork.objects.order_by("kind", "size"))


def my_list(profile: Profile) -> QuerySet[MyListEntry]:
    visible = titles_for_profile(profile).values("pk")
    return (
        MyListEntry.objects.filter(profile=profile, title__in=visible)
        .select_related("title")
        .prefetch_related(_ART)
        .order_by("-added_at", "-id")
    )


def ratings(profile: Profile) -> QuerySet[ThumbRating]:
    visible = titles_for_profile(profile).values("pk")
    return (
        ThumbRating.objects.filter(profile=profile, title__in=visible)
        .select_related("title")
        .order_by("-rated_at", "-id")
    )


def progress(profile: Profile, *, title_id: int | None = None) -> QuerySet[Progress]:
    visible = titles_for_profile(profile).values("pk")
    qs = Progress.objects.filter(profile=profile, title__in=visible)
    if title_id is not None:
        qs = qs.filter(title_id=title_id)
    return qs.select_related("title", "episode__season").order_by("-last_event_at", "-id")


def history(profile: Profile) -> QuerySet[ViewingEvent]:
    """The profile's viewing events, newest first."""
    visible = titles_for_profile(profile).values("pk")
    return (
        ViewingEvent.objects.filter(profile=profile, title__in=visible)
        .select_related("title", "episode__season")
        .order_by("-occurred_at", "-id")
    )


def continue_watching(profile: Profile, *, limit: int = 20) -> list[Progress]:
    """Unfinished titles, most recently watched first; one entry per title (its latest episode)."""
    rows = (
        progress(profile)
        .filter(completed=False, position_seconds__gt=0)
        .prefetch_related(_ART)[: limit * 4]
    )
    seen: set[int] = set()
    result: list[Progress] = []
    for row in rows:
        if row.title_id in seen:
            continue
        seen.add(row.title_id)
        result.append(row)
        if len(result) == limit:
            break
    return result


def next_episode(profile: Profile, title: Title) -> Episode | None:
    """Where to resume a series: the latest unfinished episode, else the one after the latest
    finished, else the first. None when every episode is finished or the series has none."""
    episodes = list(
        Episode.objects.filter(season__title=title)
        .select_related("season")
        .order_by("season__number", "number")
    )
    if not episodes:
        return None
    latest = (
        Progress.objects.filter(profile=profile, title=title, episode__isnull=False)
        .order_by("-last_event_at", "-id")
        .first()
    )
    if latest is None:
        return episodes[0]
    index = next(i for i, e in enumerate(episodes) if e.pk == latest.episode_id)
    if not latest.completed:
        return episodes[index]
    return episodes[index + 1] if index + 1 < len(episodes) else None


@dataclass
class TitleState:
    in_my_list: bool
    rating: int | None


def title_state(profile: Profile | None, title_id: int) -> TitleState:
    """My List and thumbs for one title page."""
    if profile is None:
        return TitleState(in_my_list=False, rating=None)
    listed = MyListEntry.objects.filter(profile=profile, title_id=title_id).exists()
    rating = (
        ThumbRating.objects.filter(profile=profile, title_id=title_id)
        .values_list("value", flat=True)
        .first()
    )
    return TitleState(in_my_list=listed, rating=rating)
