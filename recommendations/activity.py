"""Writes that fold the catalogue's viewing activity into the Interaction table, in batches.

The hot path (playback heartbeats, My List, thumbs) never writes here. A beat task scans the
activity tables past a watermark, marks the profiles that changed dirty, then recomputes the
absolute signals of a bounded batch of dirty profiles and upserts them in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Profile
from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from recommendations import weights
from recommendations.models import DirtyProfile, FoldWatermark, Interaction
from recommendations.services import interactions_upsert_prepared

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


def rows_cache_invalidate(profile_ids: Iterable[int]) -> None:
    """Forget the cached home rows of these profiles (their interactions changed)."""
    from recommendations.rows import cache_key_prefix  # rows imports this module's readers

    keys = [cache_key_prefix(pid) for pid in profile_ids]
    if keys:
        cache.delete_many(keys)


def _read(model: type[models.Model], fields: tuple[str, ...], profile_ids: list[int]) -> list:
    """These columns of a model's rows for these profiles, by one raw query: no model
    instances and no datetime conversion (SQLite: the stored text, which sorts as time does and
    is written back unchanged; PostgreSQL: the driver's own datetimes)."""
    opts = model._meta
    q = connection.ops.quote_name
    columns = {f.name: f for f in opts.concrete_fields}
    cols = []
    for name in fields:
        field = columns[name]
        col = q(field.column)
        if connection.vendor == "sqlite" and isinstance(field, models.DateTimeField):
            col = f"CAST({col} AS TEXT)"
        cols.append(col)
    marks = ", ".join(["%s"] * len(profile_ids))
    sql = (
        f"SELECT {', '.join(cols)} FROM {q(opts.db_table)} "  # noqa: S608 - names from _meta
        f"WHERE {q(columns['profile'].column)} IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, profile_ids)
        return cursor.fetchall()


def profiles_refold(*, profile_ids: list[int]) -> int:
    """Recompute the interactions of these profiles from their activity; returns rows written.

    Absolute values are written, so running it twice changes nothing; titles with no activity
    left (history deleted) lose their interaction row. For each (profile, title): plays and
    completions from the viewing events; started at all (an event or a progress row) is at
    least one play; a completed progress row is one completion when no event says so; the
    thumb; whether it is in My List; `last_at` the newest of all their times.

    The activity is read with one raw query per table and summed in plain Python values:
    the ORM's datetime conversion of each row was most of a MovieLens-100K fold's CPU.
    """
    if not profile_ids:
        return 0
    play, complete = str(ViewingEvent.Type.PLAY), str(ViewingEvent.Type.COMPLETE)
    # (profile, title) -> [plays, completions, thumb, in_my_list, last_at, started, done]
    acc: dict[tuple[int, int], list] = {}
    fresh = [0, 0, 0, False, None, False, False]

    def get(pid: int, tid: int, at: Any) -> list:
        a = acc.get((pid, tid))
        if a is None:
            a = acc[(pid, tid)] = list(fresh)
        if a[4] is None or at > a[4]:
            a[4] = at
        return a

    events = ("profile", "title", "event_type", "occurred_at")
    for pid, tid, kind, at in _read(ViewingEvent, events, profile_ids):
        a = get(pid, tid, at)
        if kind == play:
            a[0] += 1
        elif kind == complete:
            a[1] += 1
        a[5] = True
    progress = ("profile", "title", "completed", "last_event_at")
    for pid, tid, done, at in _read(Progress, progress, profile_ids):
        a = get(pid, tid, at)
        a[5] = True
        a[6] = a[6] or bool(done)
    for pid, tid, at in _read(MyListEntry, ("profile", "title", "added_at"), profile_ids):
        get(pid, tid, at)[3] = True
    for pid, tid, value, at in _read(
        ThumbRating, ("profile", "title", "value", "rated_at"), profile_ids
    ):
        get(pid, tid, at)[2] = int(value)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = []
    for (pid, tid), (plays, completions, thumb, listed, at, started, done) in sorted(acc.items()):
        plays = max(plays, 1) if started else plays  # watching at all counts as a play
        completions = completions or int(done)
        weight = weight_of(plays=plays, completions=completions, thumb=thumb, in_my_list=listed)
        rows.append((pid, tid, weight, plays, completions, thumb, listed, at or now))
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
        written = interactions_upsert_prepared(rows=rows)
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


def _profile_ids(rows: models.QuerySet[Any]) -> Iterable[int]:
    """The distinct profiles of `rows`, in no order."""
    return rows.values_list("profile_id", flat=True).order_by().distinct()


def activity_scan(*, now: datetime | None = None) -> int:
    """Mark dirty every profile with activity past the watermarks; returns profiles marked.

    Events are append-only and scanned by id; progress, My List and thumbs by time with a small
    overlap (a late commit is not missed; marking twice is harmless).
    """
    now = now or timezone.now()
    marks, _ = FoldWatermark.objects.get_or_create(source="events")
    top = ViewingEvent.objects.aggregate(m=Max("id"))["m"] or 0
    changed: set[int] = set(
        _profile_ids(ViewingEvent.objects.filter(id__gt=marks.last_id, id__lte=top))
    )
    # source -> (model, the time field a change stamps)
    timed: dict[str, tuple[type[models.Model], str]] = {
        "progress": (Progress, "updated_at"),
        "my_list": (MyListEntry, "added_at"),
        "ratings": (ThumbRating, "rated_at"),
    }
    stamps: dict[str, FoldWatermark] = {}
    for source, (model, stamped) in timed.items():
        mark, _ = FoldWatermark.objects.get_or_create(source=source)
        stamps[source] = mark
        since = (
            (mark.last_at - OVERLAP) if mark.last_at else datetime.min.replace(tzinfo=now.tzinfo)
        )
        changed.update(_profile_ids(model._default_manager.filter(**{f"{stamped}__gte": since})))
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


def fold_pending(*, progress: Callable[..., Any] | None = None) -> int:
    """Fold every profile with activity not yet folded (after an import, or a backlog).

    The same scan and batches as the beat task, run to the end in the foreground: the import
    commands call it when they finish (`receivers.fold_imported_activity`) and `recs_train`
    before it loads, so training right after `import_movielens` learns from the import.
    `progress(total=n, desc=...)` returns a tqdm-like bar (update/close), counted in
    profiles. Returns profiles folded.
    """
    activity_scan()
    bar = None
    if progress is not None:
        bar = progress(total=dirty_remaining(), desc="fold for recommendations", unit="profile")
    total = 0
    while folded := fold_batch():
        total += folded
        if bar is not None:
            bar.update(folded)
    if bar is not None:
        bar.close()
    return total


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
