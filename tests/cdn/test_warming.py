"""Cache warming: fill windows in local time, demand, plans, resumable idempotent pre-fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cdn import tasks, warming
from cdn.models import EdgeContent, SteeringDecision
from tests.cdn.factories import EdgeFactory, SiteFactory

KEY = "hls/aaa/v1/"


@pytest.mark.parametrize(
    ("tz", "start", "end", "utc_hour", "expected"),
    [
        ("UTC", 2, 6, 3, True),
        ("UTC", 2, 6, 6, False),
        ("Asia/Tokyo", 2, 6, 18, True),  # 03:00 in Tokyo
        ("Asia/Tokyo", 2, 6, 3, False),  # 12:00 in Tokyo
        ("America/New_York", 23, 5, 6, True),  # 01:00 in New York, window wraps midnight
        ("America/New_York", 23, 5, 12, False),
        ("UTC", 4, 4, 4, False),  # an empty window never fills
    ],
)
def test_fill_window_is_in_the_sites_local_time(tz, start, end, utc_hour, expected):
    site = SiteFactory.build(timezone=tz, fill_start_hour=start, fill_end_hour=end)
    now = datetime(2026, 1, 15, utc_hour, 30, tzinfo=UTC)
    assert warming.in_fill_window(site, now) is expected


@pytest.mark.django_db
def test_demand_decays_with_a_one_day_half_life_per_site():
    now = timezone.now()
    for at, site, key in [
        (now, "nyc", "hls/a/v1/"),
        (now - timedelta(days=1), "nyc", "hls/a/v1/"),
        (now - timedelta(days=2), "nyc", "hls/b/v1/"),
        (now, "lon", "hls/b/v1/"),
        (now - timedelta(days=8), "lon", "hls/c/v1/"),  # too old
        (now, "", "hls/d/v1/"),  # origin only: no site
    ]:
        SteeringDecision.objects.create(
            created_at=at, client_ip="192.0.2.1", content_key=key, located_by="geo", site_name=site
        )
    demand = warming.demand_from_decisions(now=now)
    assert demand == {"nyc": {"hls/a/v1/": 1.5, "hls/b/v1/": 0.25}, "lon": {"hls/b/v1/": 1.0}}


def test_boosts_lift_new_releases_above_the_median():
    base = {"nyc": {"hls/a/v1/": 4.0, "hls/b/v1/": 2.0, "hls/c/v1/": 1.0}}
    boosted = warming.with_boosts(base, {"hls/new/v1/": 3.0, "hls/c/v1/": 2.0})
    assert boosted == {
        "nyc": {"hls/a/v1/": 4.0, "hls/b/v1/": 2.0, "hls/c/v1/": 2.0, "hls/new/v1/": 6.0}
    }


def test_playlist_children_are_relative_uris_only():
    text = (
        '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg1.m4s\n\n'
        "https://evil.example/x.ts\n/abs.ts\n../up.ts\n720p/index.m3u8\n"
    )
    assert warming.playlist_children(text) == ["init.mp4", "seg1.m4s", "720p/index.m3u8"]


def test_warming_follows_a_stored_master_into_its_audio_renditions():
    from media.playlists import AudioTrack, SubtitleTrack, Variant, master_playlist

    text = master_playlist(
        variants=[Variant("360p/index.m3u8", 800_000, 640, 360)],
        audio=[
            AudioTrack("audio_eng/index.m3u8", "eng", "English"),
            AudioTrack("audio_spa/index.m3u8", "spa", "Español"),
        ],
        subtitles=[SubtitleTrack("subs/en.m3u8", "en", "English")],
        locations=[lambda uri: uri],
    )
    assert warming.playlist_children(text) == [
        "audio_eng/index.m3u8",
        "audio_spa/index.m3u8",
        "subs/en.m3u8",
        "360p/index.m3u8",
    ]


@pytest.fixture
def site(db):
    site = SiteFactory(name="nyc")
    for i in range(3):
        EdgeFactory(site=site, name=f"nyc-{i}")
    return site


@pytest.mark.django_db
def test_plan_uses_the_steering_hash_and_doubles_the_hottest(site):
    scores = {f"hls/k{i}/v1/": float(100 - i) for i in range(20)}
    planned = warming.plan_site(site=site, scores=scores, keys=10)
    rows = EdgeContent.objects.filter(pk__in=planned)
    assert rows.count() == 11  # ten keys, the hottest (one tenth) twice
    edges = list(site.edges.all())
    for row in rows:
        ranked = warming.site_edges_ranked(edges, row.content_key)
        assert row.edge in ranked[:2]
    assert sorted(
        rows.filter(content_key="hls/k0/v1/").values_list("edge__name", flat=True)
    ) == sorted(e.name for e in warming.site_edges_ranked(edges, "hls/k0/v1/")[:2])
    again = warming.plan_site(site=site, scores=scores, keys=10)
    assert sorted(again) == sorted(planned)  # idempotent: the same rows


@pytest.mark.django_db
def test_plan_respects_the_edge_cache_size(site):
    for edge in site.edges.all():
        EdgeContent.objects.create(
            edge=edge,
            content_key="hls/old/v1/",
            status="done",
            bytes_done=edge.cache_bytes,
            updated_at=timezone.now(),
        )
    assert warming.plan_site(site=site, scores={"hls/new/v1/": 1.0}) == []


MASTER = b"#EXTM3U\nlow/index.m3u8\nhigh/index.m3u8\n"
INDEX = b"#EXTM3U\n#EXTINF:4,\ns0.ts\n#EXTINF:4,\ns1.ts\n"


class FakeEdge:
    """Answers like an nginx edge: playlists and segments, with a cache-status header."""

    def __init__(self, fail_on: str | None = None):
        self.fetched: list[str] = []
        self.fail_on = fail_on

    def __call__(self, url: str):
        name = url.split(KEY, 1)[1]
        if name == self.fail_on:
            self.fail_on = None
            return 502, b"", ""
        self.fetched.append(name)
        if name == "master.m3u8":
            return 200, MASTER, "MISS"
        if name.endswith("index.m3u8"):
            return 200, INDEX, "MISS"
        return 200, b"x" * 100, "MISS"


@pytest.mark.django_db
def test_prefetch_is_rate_limited_resumable_and_idempotent(site):
    edge = site.edges.first()
    row = EdgeContent.objects.create(edge=edge, content_key=KEY, updated_at=timezone.now())
    fake = FakeEdge(fail_on="high/s0.ts")
    assert warming.prefetch(row_id=row.pk, budget=3, fetcher=fake) == "more"
    row.refresh_from_db()
    assert (row.status, row.files_done, row.queue) == (
        "pending",
        3,
        ["low/s0.ts", "low/s1.ts", "high/s0.ts", "high/s1.ts"],
    )
    assert warming.prefetch(row_id=row.pk, budget=10, fetcher=fake) == "failed"
    row.refresh_from_db()
    assert (row.status, row.last_error, row.queue) == (
        "failed",
        "high/s0.ts: HTTP 502",
        ["high/s0.ts", "high/s1.ts"],
    )
    assert warming.prefetch(row_id=row.pk, budget=10, fetcher=fake) == "done"
    row.refresh_from_db()
    sizes = len(MASTER) + 2 * len(INDEX) + 4 * 100
    assert (row.status, row.files_done, row.bytes_done, row.last_error) == ("done", 7, sizes, "")
    assert fake.fetched == [
        "master.m3u8",
        "low/index.m3u8",
        "high/index.m3u8",
        "low/s0.ts",
        "low/s1.ts",
        "high/s0.ts",
        "high/s1.ts",
    ]
    assert warming.prefetch(row_id=row.pk, fetcher=fake) == "busy"
    assert len(fake.fetched) == 7
    edge.refresh_from_db()
    assert (edge.hits, edge.misses) == (0, 7)


@pytest.mark.django_db
def test_a_fresh_claim_is_not_taken_twice_but_a_stale_one_is(site):
    edge = site.edges.first()
    row = EdgeContent.objects.create(edge=edge, content_key=KEY, updated_at=timezone.now())
    now = timezone.now()
    assert warming.claim(row.pk, now=now) is not None
    assert warming.claim(row.pk, now=now + timedelta(minutes=1)) is None
    assert warming.claim(row.pk, now=now + timedelta(minutes=6)) is not None


@pytest.mark.django_db
def test_beat_task_plans_only_sites_in_their_window(site, settings, monkeypatch):
    settings.CDN_DEMAND_PROVIDER = "tests.cdn.test_warming.fixed_demand"
    other = SiteFactory(name="tyo", timezone="Asia/Tokyo", fill_start_hour=2, fill_end_hour=6)
    EdgeFactory(site=other, name="tyo-1")
    site.fill_start_hour, site.fill_end_hour = 0, 24
    site.save(update_fields=["fill_start_hour", "fill_end_hour"])
    tokyo_noon = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
    monkeypatch.setattr(warming.timezone, "now", lambda: tokyo_noon)
    monkeypatch.setattr(warming, "prefetch", lambda **kw: "done")
    assert tasks.warm_sites() == {"nyc": 2}  # the only (so hottest) key gets two copies
    assert list(EdgeContent.objects.values_list("edge__site__name", "content_key")) == [
        ("nyc", "hls/hit/v1/"),
        ("nyc", "hls/hit/v1/"),
    ]


def fixed_demand(*, now):
    return {"nyc": {"hls/hit/v1/": 9.0}, "tyo": {"hls/hit/v1/": 9.0}}


@pytest.mark.django_db
def test_old_decisions_are_pruned_in_batches(monkeypatch):
    now = timezone.now()
    for days in (1, 7, 9, 10, 30):
        SteeringDecision.objects.create(
            created_at=now - timedelta(days=days),
            client_ip="192.0.2.1",
            content_key=KEY,
            located_by="geo",
            site_name="nyc",
        )
    monkeypatch.setattr(tasks, "BATCH", 2)
    assert tasks.prune_decisions() == 2  # a full batch: it re-enqueues itself (eager: runs now)
    remaining = sorted(
        round((now - at).total_seconds() / 86400)
        for at in SteeringDecision.objects.values_list("created_at", flat=True)
    )
    assert remaining == [1, 7]
