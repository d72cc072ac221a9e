"""Viewing activity writes: progress heartbeats, My List, thumbs, history deletion.

Each write that the signed-in home page shows (or that its rows are built from) bumps the
profile's home-page stamp (catalog.home_cache.activity_changed), so its cached page is
rendered again on the next visit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from catalog.caching import catalog_changed
from catalog.home_cache import activity_changed
from catalog.models import Episode, Title
from catalog.selectors.titles import titles_for_profile
from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from streamsite.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from accounts.models import Profile

# A title counts as watched from this fraction on (or from an episode's credits marker).
COMPLETION_FRACTION = 0.9


def _require_visible(profile: Profile, title: Title) -> None:
    if not titles_for_profile(profile).filter(pk=title.pk).exists():
        raise NotFound(gettext("No such title."))


def is_completed(*, position_seconds: int, duration_seconds: int, episode: Episode | None) -> bool:
    credits = episode.credits_start if episode is not None else None
    if credits is not None and position_seconds >= credits:
        return True
    return duration_seconds > 0 and position_seconds >= COMPLETION_FRACTION * duration_seconds


def _check_episode(title: Title, episode: Episode | None) -> None:
    if episode is not None and episode.season.title_id != title.pk:
        raise ValidationFailed(
            gettext("That episode belongs to another title."),
            extra={"fields": {"episode": [gettext("Not an episode of this title.")]}},
        )


@transaction.atomic
def record_progress(
    *,
    profile: Profile,
    title: Title,
    episode: Episode | None = None,
    position_seconds: int,
    duration_seconds: int,
    occurred_at: datetime,
) -> Progress:
    """Log a heartbeat and move the profile's progress forward in time.

    Out-of-order safe: the progress row only takes a heartbeat newer than the one it holds, so a
    late, older heartbeat is logged but changes nothing. Completed at >= 90% or past the credits.
    """
    if duration_seconds <= 0:
        raise ValidationFailed(
            gettext("The duration must be positive."),
            extra={"fields": {"duration_seconds": [gettext("Must be greater than 0.")]}},
        )
    if position_seconds < 0:
        raise ValidationFailed(
            gettext("The position cannot be negative."),
            extra={"fields": {"position_seconds": [gettext("Must be 0 or more.")]}},
        )
    if timezone.is_naive(occurred_at):
        raise ValidationFailed(gettext("occurred_at needs a time zone."))
    _check_episode(title, episode)
    _require_visible(profile, title)
    position_seconds = min(position_seconds, duration_seconds)
    completed = is_completed(
        position_seconds=position_seconds, duration_seconds=duration_seconds, episode=episode
    )
    ViewingEvent.objects.create(
        profile=profile,
        title=title,
        episode=episode,
        event_type=ViewingEvent.Type.COMPLETE if completed else ViewingEvent.Type.PROGRESS,
        position_seconds=position_seconds,
        duration_seconds=duration_seconds,
        occurred_at=occurred_at,
    )
    key = {"profile": profile, "title": title, "episode": episode}
    values = {
        "position_seconds": position_seconds,
        "duration_seconds": duration_seconds,
        "completed": completed,
        "last_event_at": occurred_at,
        "updated_at": timezone.now(),
    }
    for _attempt in range(2):
        if Progress.objects.filter(**key, last_event_at__lt=occurred_at).update(**values):
            break
        try:
            with transaction.atomic():
                Progress.objects.create(**key, **values)
            break
        except IntegrityError:
            continue  # a row exists: newer (nothing to do) or raced in (retry the update)
    activity_changed(profile.pk)  # Continue Watching on the cached home page
    return Progress.objects.get(**key)


@transaction.atomic
def record_play(
    *, profile: Profile, title: Title, episode: Episode | None = None, occurred_at: datetime
) -> ViewingEvent:
    """Log the start of playback."""
    _check_episode(title, episode)
    _require_visible(profile, title)
    return ViewingEvent.objects.create(
        profile=profile,
        title=title,
        episode=episode,
        event_type=ViewingEvent.Type.PLAY,
        occurred_at=occurred_at,
    )


def my_list_add(*, profile: Profile, title: Title) -> MyListEntry:
    """Add to My List; adding twice keeps the first entry."""
    _require_visible(profile, title)
    entry, created = MyListEntry.objects.get_or_create(profile=profile, title=title)
    if created:
        activity_changed(profile.pk)
    return entry


def my_list_remove(*, profile: Profile, title: Title) -> bool:
    """Remove from My List; True when something was removed."""
    deleted, _ = MyListEntry.objects.filter(profile=profile, title=title).delete()
    if deleted:
        activity_changed(profile.pk)
    return deleted > 0


def rate(*, profile: Profile, title: Title, value: int, score: float | None = None) -> ThumbRating:
    """Thumbs up (+1) or down (-1); rating again replaces the earlier rating."""
    if value not in (ThumbRating.UP, ThumbRating.DOWN):
        raise ValidationFailed(
            gettext("A rating is 1 (thumbs up) or -1 (thumbs down)."),
            extra={"fields": {"value": [gettext("Must be 1 or -1.")]}},
        )
    _require_visible(profile, title)
    rating, _ = ThumbRating.objects.update_or_create(
        profile=profile,
        title=title,
        defaults={"value": value, "score": score, "rated_at": timezone.now()},
    )
    activity_changed(profile.pk)
    return rating


def rating_clear(*, profile: Profile, title: Title) -> bool:
    deleted, _ = ThumbRating.objects.filter(profile=profile, title=title).delete()
    if deleted:
        activity_changed(profile.pk)
    return deleted > 0


@transaction.atomic
def history_delete(*, profile: Profile, title: Title) -> int:
    """Forget that this profile watched a title: its events and progress. Returns events removed."""
    deleted, _ = ViewingEvent.objects.filter(profile=profile, title=title).delete()
    Progress.objects.filter(profile=profile, title=title).delete()
    activity_changed(profile.pk)
    return deleted


def popularity_refresh() -> int:
    """Recount Title.view_count from completed viewing events plus thumbs up. Returns changed."""
    counts: dict[int, int] = {}
    completes = (
        ViewingEvent.objects.filter(event_type=ViewingEvent.Type.COMPLETE)
        .values("title_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in completes:
        counts[row["title_id"]] = row["n"]
    ups = (
        ThumbRating.objects.filter(value=ThumbRating.UP)
        .values("title_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in ups:
        counts[row["title_id"]] = counts.get(row["title_id"], 0) + row["n"]
    changed = [
        Title(pk=pk, view_count=counts.get(pk, 0))
        for pk, current in Title.objects.values_list("pk", "view_count")
        if counts.get(pk, 0) != current
    ]
    Title.objects.bulk_update(changed, ["view_count"], batch_size=500)
    if changed:  # "popular" orders and rows cached by the catalogue change with it
        catalog_changed()
    return len(changed)
