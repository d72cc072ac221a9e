"""The daily rollup: a scripted day of sessions, QoE and edge traffic gives exact rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cdn.models import EdgeTrafficMinute
from insights.models import (
    DailyEdge,
    DailyQoe,
    DailyTotals,
    DailyViewing,
    StreamSample,
    TopTitle,
)
from insights.services import percentile, rollup_day, streams_sample
from playback.models import PlaybackSession, QoeSession
from tests.cdn.factories import EdgeFactory
from tests.playback.sessions.factories import ProfileFactory, TitleFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 1)
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _session(account, profile, title, *, at, device="Chrome on Linux", ended=True, **qoe):
    session = PlaybackSession.objects.create(
        account=account,
        profile=profile,
        title=title,
        device=device,
        max_height=1080,
        created_at=at,
        expires_at=at + timedelta(minutes=2),
        ended_at=at + timedelta(minutes=1) if ended else None,
    )
    if qoe:
        QoeSession.objects.create(session=session, started_at=at, updated_at=at, **qoe)
    return session


@pytest.fixture
def scripted_day(alice, bob, settings):
    settings.DEFAULT_COUNTRY = "US"
    alice.country = "FR"
    alice.save(update_fields=["country"])
    anna, ben = ProfileFactory(account=alice), ProfileFactory(account=bob)
    heist, comedy = TitleFactory(name="Heist"), TitleFactory(name="Comedy")
    EdgeFactory(name="par-1", site__name="paris", base_url="http://par-1.cdn.example:8080/")
    _session(
        alice,
        anna,
        heist,
        at=NOON,
        startup_ms=1000,
        played_ms=60000,
        stall_ms=3000,
        stall_count=2,
        bitrate_kbps_ms=60000 * 2000,
        edge="par-1.cdn.example:8080",
        reports=6,
    )
    _session(
        alice,
        anna,
        heist,
        at=NOON + timedelta(hours=1),
        startup_ms=3000,
        played_ms=30000,
        bitrate_kbps_ms=30000 * 1000,
        fatal_errors=1,
        edge="par-1.cdn.example:8080",
        reports=3,
    )
    # Left before the first frame; its media never came from an edge.
    _session(bob, ben, comedy, at=NOON, device="Firefox on Windows", reports=1)
    # A player that reports no QoE: a play, no QoE row.
    _session(bob, ben, comedy, at=NOON + timedelta(hours=2), device="Firefox on Windows")
    # The next day: not counted.
    _session(alice, anna, heist, at=NOON + timedelta(days=1), startup_ms=10, reports=1)
    for minute, requests, hits in ((0, 10, 7), (1, 30, 27)):
        EdgeTrafficMinute.objects.create(
            edge="par-1",
            minute=NOON + timedelta(minutes=minute),
            requests=requests,
            lookups=requests,
            hits=hits,
            bytes=requests * 1000,
            lookup_bytes=requests * 1000,
            hit_bytes=hits * 1000,
            origin_bytes=(requests - hits) * 1000,
        )
    EdgeTrafficMinute.objects.create(edge="par-1", minute=NOON + timedelta(days=1), requests=5)
    StreamSample.objects.create(at=NOON, streams=2)
    StreamSample.objects.create(at=NOON + timedelta(hours=1), streams=3)
    return heist, comedy


def test_a_scripted_day_rolls_up_to_exact_rows(scripted_day):
    heist, comedy = scripted_day
    result = rollup_day(day=DAY, now=NOON + timedelta(days=1))
    assert (result.sessions, result.edges) == (4, 1)

    totals = DailyTotals.objects.get(day=DAY)
    assert (totals.plays, totals.viewers, totals.watched_ms, totals.peak_streams) == (
        4,
        2,
        90000,
        3,
    )
    assert sorted(
        DailyViewing.objects.values_list("title__name", "country", "plays", "viewers", "watched_ms")
    ) == [("Comedy", "US", 2, 1, 0), ("Heist", "FR", 2, 1, 90000)]

    rows = {
        (q.dimension, q.key): (
            q.sessions,
            q.started,
            q.exits_before_start,
            q.errored,
            q.startup_p50_ms,
            q.startup_p95_ms,
            q.played_ms,
            q.stall_ms,
            q.bitrate_kbps_ms,
        )
        for q in DailyQoe.objects.filter(day=DAY)
    }
    both = (2, 2, 0, 1, 1000, 3000, 90000, 3000, 150_000_000)
    left = (1, 0, 1, 0, None, None, 0, 0, 0)
    assert rows == {
        ("all", "all"): (3, 2, 1, 1, 1000, 3000, 90000, 3000, 150_000_000),
        ("site", "paris"): both,
        ("site", "origin"): left,
        ("edge", "par-1"): both,
        ("edge", "origin"): left,
        ("title", "Heist"): both,
        ("title", "Comedy"): left,
        ("device", "Chrome on Linux"): both,
        ("device", "Firefox on Windows"): left,
    }
    everything = DailyQoe.objects.get(day=DAY, dimension="all")
    assert everything.rebuffering_ratio == 3000 / 93000
    assert everything.average_kbps == 150_000_000 / 90000
    assert everything.error_rate == 1 / 3

    # Top titles per country over the week ending that day (one title each here).
    assert list(TopTitle.objects.values_list("country", "rank", "title__name", "plays")) == [
        ("FR", 1, "Heist", 2),
        ("US", 1, "Comedy", 2),
    ]

    edge = DailyEdge.objects.get(day=DAY)
    assert (edge.edge, edge.requests, edge.hits, edge.bytes, edge.origin_bytes) == (
        "par-1",
        40,
        34,
        40000,
        6000,
    )


def test_rolling_up_a_day_twice_replaces_its_rows(scripted_day):
    rollup_day(day=DAY, now=NOON)
    rollup_day(day=DAY, now=NOON)
    assert DailyTotals.objects.count() == 1
    assert DailyViewing.objects.count() == 2
    assert DailyQoe.objects.filter(day=DAY).count() == 9
    assert DailyEdge.objects.count() == 1


def test_nearest_rank_percentiles():
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (
        50,
        95,
        100,
    )


def test_streams_are_sampled_from_live_leases(alice, bob):
    title = TitleFactory()
    now = NOON
    _session(
        alice, ProfileFactory(account=alice), title, at=now - timedelta(seconds=30), ended=False
    )
    _session(bob, ProfileFactory(account=bob), title, at=now - timedelta(seconds=30))
    assert streams_sample(now=now) == 1
    assert list(StreamSample.objects.values_list("at", "streams")) == [(NOON, 1)]
