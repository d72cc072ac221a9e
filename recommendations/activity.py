"""Writes that fold the catalogue's viewing activity into the Interaction table, in batches.

The hot path (playback heartbeats, My List, thumbs) never writes here. A beat task scans the
activity tables past a watermark, marks the profiles that changed dirty, then recomputes the
absolute signals of a bounded batch of dirty profiles and upserts them in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Profile
from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from recommendations import weights
from recommendations.models import DirtyProfile, FoldWatermark, Interaction
from recommendations.services import InteractionRow, interactions_upsert

#: how many dirty profiles one fold run recomputes
FOLD_BATCH = 500
#: rows committed late with an earlier timestamp are still seen: time scans overlap this much
OVERLAP = timedelta(minutes=2)


def weight_of(*, plays: int, completions: int, thumb: int, in_my_list: bool) -> float:
    """The training weight of one profile's signals on one title (0 means not positive);
    the weights are validated ones (`recommendations.weights.DEFAULT`)."""
    return weights.weight_of(
        plays=plays, completions=completions, thumb=thumb, in_my_list=in_my_list
    )


@dataclass
class _Acc:
    plays: int = 0
    completions: int = 0
    thumb: int = 0
    in_my_list: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None

    def seen(self, at: datetime) -> None:
        self.first_at = at if self.first_at is None or at < self.first_at else self.first_at
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at


def rows_cache_invalidate(profile_ids: Iterable[int]) -> None:
    """Forget the cached home rows of these profiles (their interactions changed)."""
    from recommendations.rows import cache_key_prefix  # rows imports this module's readers

    keys = [cache_key_prefix(pid) for pid in profile_ids]
    if keys:
        cache.delete_many(keys)


def profiles_refold(*, profile_ids: list[int]) -> int:
    """Recompute the interactions of these profiles from their activity; returns rows written.

    Absolute values are written, so running it twice changes nothing; titles with no activity
    left (history deleted) lose their interaction row.
    """
    if not profile_ids:
        return 0
    acc: dict[tuple[int, int], _Acc] = {}

    def get(pid: int, tid: int) -> _Acc:
        return acc.setdefault((pid, tid), _Acc())

    events = ViewingEvent.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "episode_id", "event_type", "occurred_at"
    )
    started: set[tuple[int, int]] = set()
    for pid, tid, _episode, kind, at in events.iterator(chunk_size=5000):
        a = get(pid, tid)
        a.seen(at)
        if kind == ViewingEvent.Type.PLAY:
            a.plays += 1
        elif kind == ViewingEvent.Type.COMPLETE:
            a.completions += 1
        started.add((pid, tid))
    for pid, tid, done, at in Progress.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "completed", "last_event_at"
    ):
        a = get(pid, tid)
        a.seen(at)
        started.add((pid, tid))
        if done and a.completions == 0:
            a.completions = 1
    for key in started:
        acc[key].plays = max(acc[key].plays, 1)  # watching at all counts as a play
    for pid, tid, at in MyListEntry.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "added_at"
    ):
        a = get(pid, tid)
        a.in_my_list = True
        a.seen(at)
    for pid, tid, value, at in ThumbRating.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "value", "rated_at"
    ):
        a = get(pid, tid)
        a.thumb = int(value)
        a.seen(at)
    rows = [
        InteractionRow(
            profile_id=pid,
            title_id=tid,
            weight=weight_of(
                plays=a.plays, completions=a.completions, thumb=a.thumb, in_my_list=a.in_my_list
            ),
            last_at=a.last_at or timezone.now(),
            plays=a.plays,
            completions=a.completions,
            thumb=a.thumb,
            in_my_list=a.in_my_list,
        )
        for (pid, tid), a in sorted(acc.items())
    ]
    with transaction.atomic():
        keep: dict[int, set[int]] = {}
        for pid, tid in acc:
            keep.setdefault(pid, set()).add(tid)
        stale = [
            pk
            for pk, pid, tid in Interaction.objects.filter(profile_id__in=profile_ids).values_list(
                "pk", "profile_id", "title_id"
            )
            if tid not in keep.get(pid, set())
        ]
        if stale:
            Interaction.objects.filter(pk__in=stale).delete()
        written = interactions_upsert(rows=rows)
        transaction.on_commit(lambda: rows_cache_invalidate(profile_ids))
    return written


def _mark(profile_ids: Iterable[int], now: datetime) -> int:
    ids = sorted(set(profile_ids))
    DirtyProfile.objects.bulk_create(
        [DirtyProfile(profile_id=pid, marked_at=now) for pid in ids],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return len(ids)


def activity_scan(*, now: datetime | None = None) -> int:
    """Mark dirty every profile with activity past the watermarks; returns profiles marked.

    Events are append-only and scanned by id; progress, My List and thumbs by time with a small
    overlap (a late commit is not missed; marking twice is harmless).
    """
    now = now or timezone.now()
    marks, _ = FoldWatermark.objects.get_or_create(source="events")
    top = ViewingEvent.objects.aggregate(m=Max("id"))["m"] or 0
    changed: set[int] = set(
        ViewingEvent.objects.filter(id__gt=marks.last_id, id__lte=top).values_list(
            "profile_id", flat=True
        )
    )
    timed: list[tuple[str, Callable[[datetime], Iterable[int]]]] = [
        (
            "progress",
            lambda since: Progress.objects.filter(updated_at__gte=since).values_list(
                "profile_id", flat=True
            ),
        ),
        (
            "my_list",
            lambda since: MyListEntry.objects.filter(added_at__gte=since).values_list(
                "profile_id", flat=True
            ),
        ),
        (
            "ratings",
            lambda since: ThumbRating.objects.filter(rated_at__gte=since).values_list(
                "profile_id", flat=True
            ),
        ),
    ]
    stamps: dict[str, FoldWatermark] = {}
    for source, query in timed:
        mark, _ = FoldWatermark.objects.get_or_create(source=source)
        stamps[source] = mark
        since = (
            (mark.last_at - OVERLAP) if mark.last_at else datetime.min.replace(tzinfo=now.tzinfo)
        )
        changed.update(query(since))
    with transaction.atomic():
        count = _mark(changed, now)
        FoldWatermark.objects.filter(source="events").update(last_id=top)
        FoldWatermark.objects.filter(source__in=list(stamps)).update(last_at=now)
    return count


def fold_batch(*, limit: int = FOLD_BATCH) -> int:
    """Refold up to `limit` dirty profiles (oldest marks first); returns profiles folded."""
    claimed = list(
        DirtyProfile.objects.order_by("marked_at", "profile_id").values_list(
            "profile_id", "marked_at"
        )[:limit]
    )
    if not claimed:
        return 0
    ids = [pid for pid, _ in claimed]
    profiles_refold(profile_ids=ids)
    # a profile marked again while we folded keeps its (newer) mark; one commit for the batch
    # (a commit per mark was 22 s of a MovieLens-100K fold on SQLite, by the profile) and one
    # delete per distinct mark time (a scan marks all it finds at one time), not per profile
    by_mark: dict[datetime, list[int]] = {}
    for pid, marked_at in claimed:
        by_mark.setdefault(marked_at, []).append(pid)
    with transaction.atomic():
        for marked_at, pids in by_mark.items():
            DirtyProfile.objects.filter(profile_id__in=pids, marked_at=marked_at).delete()
    return len(ids)


def fold_pending(*, progress: Callable[[int], None] | None = None) -> int:
    """Fold every profile with activity not yet folded (after an import, or a backlog).

    The same scan and batches as the beat task, run to the end in the foreground, so
    `recs_train` right after `import_movielens` learns from the import. Returns profiles folded.
    """
    activity_scan()
    total = 0
    while True:
        folded = fold_batch()
        if folded == 0:
            return total
        total += folded
        if progress is not None:
            progress(folded)


def has_activity() -> bool:
    """Whether any viewing activity exists at all (to name the missing step when training)."""
    return (
        ViewingEvent.objects.exists()
        or Progress.objects.exists()
        or ThumbRating.objects.exists()
        or MyListEntry.objects.exists()
    )


def dirty_remaining() -> int:
    return DirtyProfile.objects.count()


def rebuild_all(*, progress: Callable[[int], None] | None = None, batch: int = FOLD_BATCH) -> int:
    """One-shot rebuild of every profile's interactions (demo, imports); returns rows written.

    Also moves the watermarks to now, so the beat task does not fold everything again.
    """
    now = timezone.now()
    ids = list(Profile.objects.order_by("pk").values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        written += profiles_refold(profile_ids=chunk)
        if progress is not None:
            progress(len(chunk))
    top = ViewingEvent.objects.aggregate(m=Max("id"))["m"] or 0
    FoldWatermark.objects.update_or_create(source="events", defaults={"last_id": top})
    for source in ("progress", "my_list", "ratings"):
        FoldWatermark.objects.update_or_create(source=source, defaults={"last_at": now})
    DirtyProfile.objects.filter(marked_at__lte=now).delete()
    return written


# --- cold start ---------------------------------------------------------------------------
ONBOARDING_MIN = 3
ONBOARDING_MAX = 30


def onboarding_complete(*, profile: Profile, title_ids: list[int]) -> list[int]:
    """A new profile says which titles it likes: each becomes a thumbs up and an interaction now.

    The profile is refolded at once (no waiting for the beat), so its personal rows appear on
    the next page load. Returns the liked title ids, sorted.
    """
    from catalog.models import Title
    from playback.services.activity import rate
    from recommendations.rows import allowed_for_profile
    from streamsite.errors import ValidationFailed

    ids = sorted(set(title_ids))
    if len(ids) < ONBOARDING_MIN:
        raise ValidationFailed(
            gettext("Pick at least %(min)d titles you like (got %(got)d).")
            % {"min": ONBOARDING_MIN, "got": len(ids)},
            extra={
                "fields": {
                    "title_ids": [gettext("Pick at least %(min)d.") % {"min": ONBOARDING_MIN}]
                }
            },
        )
    if len(ids) > ONBOARDING_MAX:
        raise ValidationFailed(
            gettext("Pick at most %(max)d titles (got %(got)d).")
            % {"max": ONBOARDING_MAX, "got": len(ids)},
            extra={
                "fields": {
                    "title_ids": [gettext("Pick at most %(max)d.") % {"max": ONBOARDING_MAX}]
                }
            },
        )
    unknown = sorted(set(ids) - allowed_for_profile(profile))
    if unknown:
        raise ValidationFailed(
            gettext("Not titles this profile can watch: %(ids)s.")
            % {"ids": ", ".join(map(str, unknown))},
            extra={
                "fields": {
                    "title_ids": [gettext("Unknown or unavailable: %(ids)s.") % {"ids": unknown}]
                }
            },
        )
    with transaction.atomic():
        for title in Title.objects.filter(pk__in=ids).order_by("pk"):
            rate(profile=profile, title=title, value=ThumbRating.UP)
        profiles_refold(profile_ids=[profile.pk])
    rows_cache_invalidate([profile.pk])
    return ids
