"""Viewing activity folded into Interaction rows by the batched beat task, never on the hot path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from playback.services.activity import record_progress
from recommendations import activity, rows
from recommendations.models import DirtyProfile, Interaction
from recommendations.tasks import fold_activity
from tests.catalog.factories import TitleFactory
from tests.recommendations.factories import ProfileFactory

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _signals(profile):
    return {
        i.title_id: (i.weight, i.plays, i.completions, i.thumb, i.in_my_list)
        for i in Interaction.objects.filter(profile=profile)
    }


def test_each_signal_folds_into_an_exact_weight(db):
    profile = ProfileFactory()
    a, b, c, d, e = TitleFactory.create_batch(5)
    ViewingEvent.objects.create(profile=profile, title=a, event_type="play", occurred_at=T0)
    ViewingEvent.objects.create(profile=profile, title=a, event_type="complete", occurred_at=T0)
    Progress.objects.create(
        profile=profile, title=b, position_seconds=60, duration_seconds=600, last_event_at=T0
    )
    MyListEntry.objects.create(profile=profile, title=c, added_at=T0)
    ViewingEvent.objects.create(profile=profile, title=d, event_type="play", occurred_at=T0)
    ThumbRating.objects.create(profile=profile, title=d, value=-1, rated_at=T0)
    ThumbRating.objects.create(profile=profile, title=e, value=1, rated_at=T0)

    assert activity.profiles_refold(profile_ids=[profile.pk]) == 5

    assert _signals(profile) == {
        a.pk: (3.0, 1, 1, 0, False),  # completed view 3
        b.pk: (1.0, 1, 0, 0, False),  # partial view 1
        c.pk: (1.0, 0, 0, 0, True),  # My List 1
        d.pk: (1.0, 1, 0, -1, False),  # partial view 1; a thumbs down adds 0 (validated)
        e.pk: (2.0, 0, 0, 1, False),  # thumbs up
    }


def test_playback_writes_nothing_to_interactions_until_the_beat_folds(db):
    profile = ProfileFactory()
    title = TitleFactory()
    record_progress(
        profile=profile,
        title=title,
        position_seconds=600,
        duration_seconds=600,
        occurred_at=timezone.now(),
    )
    assert Interaction.objects.count() == 0

    assert fold_activity() == 1

    assert _signals(profile) == {title.pk: (3.0, 1, 1, 0, False)}
    assert DirtyProfile.objects.count() == 0
    # time-scanned sources overlap by two minutes (late commits); past that, nothing is marked
    later = timezone.now() + timedelta(minutes=3)
    assert activity.activity_scan(now=later) == 1
    assert activity.activity_scan(now=later) == 0


def test_only_profiles_with_new_activity_are_folded_again(db):
    quiet, busy = ProfileFactory(), ProfileFactory()
    title = TitleFactory()
    for p in (quiet, busy):
        ViewingEvent.objects.create(profile=p, title=title, event_type="play", occurred_at=T0)
    assert activity.activity_scan() == 2
    assert activity.fold_batch() == 2

    ViewingEvent.objects.create(profile=busy, title=title, event_type="complete", occurred_at=T0)

    assert activity.activity_scan() == 1
    assert list(DirtyProfile.objects.values_list("profile_id", flat=True)) == [busy.pk]
    assert activity.fold_batch() == 1
    assert _signals(busy) == {title.pk: (3.0, 1, 1, 0, False)}
    assert _signals(quiet) == {title.pk: (1.0, 1, 0, 0, False)}


def test_a_fold_run_is_bounded_and_the_rest_waits_for_the_next(db):
    title = TitleFactory()
    profiles = ProfileFactory.create_batch(3)
    for p in profiles:
        ViewingEvent.objects.create(profile=p, title=title, event_type="play", occurred_at=T0)
    activity.activity_scan()

    assert activity.fold_batch(limit=2) == 2
    assert activity.dirty_remaining() == 1
    assert Interaction.objects.count() == 2
    assert activity.fold_batch(limit=2) == 1
    assert Interaction.objects.count() == 3


def test_a_profile_marked_again_while_folding_stays_dirty(db):
    profile = ProfileFactory()
    title = TitleFactory()
    ViewingEvent.objects.create(profile=profile, title=title, event_type="play", occurred_at=T0)
    activity.activity_scan()
    claimed_at = DirtyProfile.objects.get().marked_at
    later = claimed_at + timedelta(seconds=5)

    original = activity.profiles_refold

    def refold_and_remark(*, profile_ids):
        DirtyProfile.objects.filter(profile_id=profile.pk).update(marked_at=later)
        return original(profile_ids=profile_ids)

    activity.profiles_refold = refold_and_remark  # type: ignore[assignment]
    try:
        assert activity.fold_batch() == 1
    finally:
        activity.profiles_refold = original  # type: ignore[assignment]
    assert list(DirtyProfile.objects.values_list("marked_at", flat=True)) == [later]


def test_deleted_history_and_removed_list_entries_drop_the_interaction(db):
    profile = ProfileFactory()
    a, b = TitleFactory.create_batch(2)
    ViewingEvent.objects.create(profile=profile, title=a, event_type="play", occurred_at=T0)
    MyListEntry.objects.create(profile=profile, title=b, added_at=T0)
    activity.profiles_refold(profile_ids=[profile.pk])
    assert set(_signals(profile)) == {a.pk, b.pk}

    ViewingEvent.objects.filter(profile=profile, title=a).delete()
    MyListEntry.objects.filter(profile=profile, title=b).delete()
    activity.profiles_refold(profile_ids=[profile.pk])

    assert _signals(profile) == {}


def test_refolding_drops_that_profiles_cached_rows_only(db, django_capture_on_commit_callbacks):
    mine, other = ProfileFactory(), ProfileFactory()
    title = TitleFactory()
    cache.set(rows.cache_key_prefix(mine.pk), {"version": 0, "rows": []})
    cache.set(rows.cache_key_prefix(other.pk), {"version": 0, "rows": []})
    ViewingEvent.objects.create(profile=mine, title=title, event_type="play", occurred_at=T0)

    with django_capture_on_commit_callbacks(execute=True):
        activity.profiles_refold(profile_ids=[mine.pk])

    assert cache.get(rows.cache_key_prefix(mine.pk)) is None
    assert cache.get(rows.cache_key_prefix(other.pk)) == {"version": 0, "rows": []}


def test_rebuild_folds_everyone_and_moves_the_watermarks(db):
    profiles = ProfileFactory.create_batch(3)
    title = TitleFactory()
    for p in profiles:
        ViewingEvent.objects.create(profile=p, title=title, event_type="complete", occurred_at=T0)

    assert activity.rebuild_all(batch=2) == 3

    assert Interaction.objects.filter(weight=3.0).count() == 3
    assert activity.activity_scan() == 0  # the beat has nothing left to fold


def test_a_batch_claimed_at_several_mark_times_keeps_only_the_marks_made_while_folding(db):
    """The claimed marks are deleted grouped by mark time: each profile's own claimed mark goes,
    a profile marked again meanwhile (at a time another profile was claimed at) stays dirty."""
    profiles = [ProfileFactory() for _ in range(3)]
    title = TitleFactory()
    t1 = T0 + timedelta(minutes=1)
    t2 = T0 + timedelta(minutes=2)
    for p in profiles:
        ViewingEvent.objects.create(profile=p, title=title, event_type="play", occurred_at=T0)
    DirtyProfile.objects.bulk_create(
        [
            DirtyProfile(profile=profiles[0], marked_at=t1),
            DirtyProfile(profile=profiles[1], marked_at=t1),
            DirtyProfile(profile=profiles[2], marked_at=t2),
        ]
    )
    original = activity.profiles_refold

    def refold_and_remark(*, profile_ids):
        # marked again at t2, the time profile 2 was claimed at: a delete by time alone loses it
        DirtyProfile.objects.filter(profile_id=profiles[0].pk).update(marked_at=t2)
        return original(profile_ids=profile_ids)

    activity.profiles_refold = refold_and_remark  # type: ignore[assignment]
    try:
        assert activity.fold_batch() == 3
    finally:
        activity.profiles_refold = original  # type: ignore[assignment]
    assert list(DirtyProfile.objects.values_list("profile_id", "marked_at")) == [
        (profiles[0].pk, t2)
    ]
    assert Interaction.objects.count() == 3


def _reference_fold(profile_ids):
    """The fold's rules read through the ORM, row by row (how the fold was written before it
    read raw rows): the new fold must write exactly this."""
    acc: dict = {}

    def get(pid, tid, at):
        a = acc.setdefault((pid, tid), {"plays": 0, "done": 0, "thumb": 0, "list": False})
        a["last"] = max(a.get("last", at), at)
        return a

    started = set()
    for pid, tid, kind, at in ViewingEvent.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "event_type", "occurred_at"
    ):
        a = get(pid, tid, at)
        a["plays"] += kind == "play"
        a["done"] += kind == "complete"
        started.add((pid, tid))
    for pid, tid, done, at in Progress.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "completed", "last_event_at"
    ):
        a = get(pid, tid, at)
        started.add((pid, tid))
        if done and a["done"] == 0:
            a["done"] = 1
    for key in started:
        acc[key]["plays"] = max(acc[key]["plays"], 1)
    for pid, tid, at in MyListEntry.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "added_at"
    ):
        get(pid, tid, at)["list"] = True
    for pid, tid, value, at in ThumbRating.objects.filter(profile_id__in=profile_ids).values_list(
        "profile_id", "title_id", "value", "rated_at"
    ):
        get(pid, tid, at)["thumb"] = value
    return {
        key: (
            activity.weight_of(
                plays=a["plays"], completions=a["done"], thumb=a["thumb"], in_my_list=a["list"]
            ),
            a["plays"],
            a["done"],
            a["thumb"],
            a["list"],
            a["last"],
        )
        for key, a in acc.items()
    }


def test_the_fold_writes_what_the_rules_read_row_by_row_give_on_mixed_activity(db):
    import random

    rng = random.Random(7)
    profiles = ProfileFactory.create_batch(3)
    titles = TitleFactory.create_batch(8)
    ids = [p.pk for p in profiles]

    def when():  # times with and without microseconds, some shared exactly
        return T0 + timedelta(
            seconds=rng.choice([0, 1, 59, 3600]), microseconds=rng.choice([0, 5, 999_999])
        )

    for p in profiles:
        for t in rng.sample(titles, 6):
            for _ in range(rng.randint(0, 3)):
                kind = rng.choice(["play", "progress", "complete"])
                ViewingEvent.objects.create(profile=p, title=t, event_type=kind, occurred_at=when())
            if rng.random() < 0.5:
                Progress.objects.create(
                    profile=p,
                    title=t,
                    position_seconds=10,
                    duration_seconds=600,
                    completed=rng.random() < 0.5,
                    last_event_at=when(),
                )
            if rng.random() < 0.4:
                MyListEntry.objects.create(profile=p, title=t, added_at=when())
            if rng.random() < 0.5:
                ThumbRating.objects.create(
                    profile=p, title=t, value=rng.choice([1, -1]), rated_at=when()
                )
    # a stale row that the fold must drop (no activity behind it)
    Interaction.objects.create(
        profile=profiles[0],
        title=TitleFactory(),
        weight=1.0,
        first_at=T0,
        last_at=T0,
    )
    want = _reference_fold(ids)
    assert len(want) >= 12

    activity.profiles_refold(profile_ids=ids)

    got = {
        (i.profile_id, i.title_id): (
            i.weight,
            i.plays,
            i.completions,
            i.thumb,
            i.in_my_list,
            i.last_at,
        )
        for i in Interaction.objects.filter(profile_id__in=ids)
    }
    assert got == want
