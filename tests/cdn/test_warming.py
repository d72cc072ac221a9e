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


@pytest.mark.parametrize(
    ("tz", "start", "now_utc", "opened_utc"),
    [
        ("UTC", 2, datetime(2026, 1, 15, 3, 30), datetime(2026, 1, 15, 2)),
        ("UTC", 2, datetime(2026, 1, 15, 1, 59), datetime(2026, 1, 14, 2)),
        ("Asia/Tokyo", 2, datetime(2026, 1, 15, 18), datetime(2026, 1, 15, 17)),  # 03:00 there
        ("America/New_York", 23, datetime(2026, 1, 15, 6), datetime(2026, 1, 15, 4)),  # 01:00
    ],
)
def test_a_fill_window_opened_at_its_last_local_start_hour(tz, start, now_utc, opened_utc):
    site = SiteFactory.build(timezone=tz, fill_start_hour=start, fill_end_hour=(start + 4) % 24)
    opened = warming.fill_opened(site, now_utc.replace(tzinfo=UTC))
    assert opened == opened_utc.replace(tzinfo=UTC)


@pytest.mark.django_db
def test_each_fill_window_fetches_its_planned_keys_again_once(site):
    """A key done in an earlier window is fetched again (its files move to the head of the
    edge's queue, or come back if evicted); planning again in the same window does not redo it,
    and what earlier windows fetched no longer counts towards an edge's cache size."""
    site.fill_start_hour, site.fill_end_hour = 2, 6
    site.save(update_fields=["fill_start_hour", "fill_end_hour"])
    edge = warming.site_edges_ranked(list(site.edges.all()), KEY)[0]
    yesterday = datetime(2026, 1, 14, 3, tzinfo=UTC)
    today = datetime(2026, 1, 15, 3, tzinfo=UTC)
    row = EdgeContent.objects.create(
        edge=edge,
        content_key=KEY,
        status="done",
        files_done=7,
        bytes_done=edge.cache_bytes,  # yesterday's fill took the whole cache
        updated_at=yesterday,
    )
    # The only key is the hottest: its first edge and a second copy on the next one.
    first = warming.plan_site(site=site, scores={KEY: 1.0}, keys=1, now=today)
    row.refresh_from_db()
    assert len(first) == 2 and first[0] == row.pk
    assert (row.status, row.files_done, row.bytes_done, row.queue) == ("pending", 0, 0, [])
    EdgeContent.objects.filter(pk__in=first).update(
        status="done", files_done=7, bytes_done=700, updated_at=today + timedelta(minutes=20)
    )
    later = today + timedelta(hours=1)
    assert warming.plan_site(site=site, scores={KEY: 1.0}, keys=1, now=later) == []
    row.refresh_from_db()
    assert (row.status, row.files_done) == ("done", 7)
    tomorrow = today + timedelta(days=1)
    assert warming.plan_site(site=site, scores={KEY: 1.0}, keys=1, now=tomorrow) == first


@pytest.mark.django_db
def test_the_beat_task_enqueues_the_coldest_key_first(site, settings, monkeypatch):
    settings.CDN_DEMAND_PROVIDER = "tests.cdn.test_warming.ranked_demand"
    site.fill_start_hour, site.fill_end_hour = 0, 24
    site.save(update_fields=["fill_start_hour", "fill_end_hour"])
    sent: list[str] = []
    monkeypatch.setattr(
        tasks.warm_edge_content,
        "delay_on_commit",
        lambda row_id: sent.append(EdgeContent.objects.get(pk=row_id).content_key),
    )
    tasks.warm_sites()
    assert list(dict.fromkeys(sent)) == [f"hls/k{i}/v1/" for i in range(11, -1, -1)]


def ranked_demand(*, now):
    return {"nyc": {f"hls/k{i}/v1/": float(100 - i) for i in range(12)}}


MASTER = b"#EXTM3U\nlow/index.m3u8\nhigh/index.m3u8\n"
INDEX = b"#EXTM3U\n#EXTINF:4,\ns0.ts\n#EXTINF:4,\ns1.ts\n"


class FakeEdge:
    """Answers like an nginx edge: playlists and segments, with a cache-status header; a HEAD
    gets the headers alone."""

    def __init__(self, fail_on: str | None = None):
        self.fetched: list[str] = []
        self.methods: dict[str, str] = {}
        self.fail_on = fail_on

    def __call__(self, url: str, *, head: bool = False):
        name = url.split(KEY, 1)[1]
        if name == self.fail_on:
            self.fail_on = None
            return warming.Fetched(502, b"", "", 0)
        self.fetched.append(name)
        self.methods[name] = "HEAD" if head else "GET"
        body = b"x" * 100
        if name.endswith(".m3u8"):
            body = MASTER if name == "master.m3u8" else INDEX
        return warming.Fetched(200, b"" if head else body, "MISS", len(body))


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
    # Playlists are read; segments are HEADs (the edge stores them, the warmer gets no bytes).
    assert {n: m for n, m in fake.methods.items() if m == "GET"} == {
        "master.m3u8": "GET",
        "low/index.m3u8": "GET",
        "high/index.m3u8": "GET",
    }
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


@pytest.mark.django_db
@pytest.mark.parametrize("keys", [3, 60])
def test_planning_takes_the_same_statements_whatever_the_number_of_keys(site, keys):
    """A plan is a fixed number of statements (an edge in the per-edge mode pins as many titles
    as its whole cache holds): the new rows inserted, the rows read, their scores, the stale
    ones refreshed, read again. Counted with rows new, rescored and stale at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cdn.services import edge_contents_plan

    edge = site.edges.first()
    opened = datetime(2026, 1, 15, 2, tzinfo=UTC)
    names = [f"hls/k{i}/v1/" for i in range(keys)]
    for key in names[::2]:  # half done in an earlier window, with another score
        EdgeContent.objects.create(
            edge=edge, content_key=key, status="done", score=9.0, updated_at=opened - timedelta(1)
        )
    with CaptureQueriesContext(connection) as ctx:
        rows = edge_contents_plan(
            [(edge.pk, key, float(i)) for i, key in enumerate(names)], refresh_before=opened
        )
    assert [r.content_key for r in rows] == names
    assert [r.score for r in rows] == [float(i) for i in range(keys)]
    assert {r.status for r in rows} == {"pending"}
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 5, "\n".join(s[:80] for s in statements)


@pytest.mark.django_db
def test_a_pair_planned_twice_is_one_row_at_its_first_place_and_score(site):
    from cdn.services import edge_contents_plan

    a, b = list(site.edges.order_by("id"))[:2]
    rows = edge_contents_plan([(a.pk, KEY, 2.0), (b.pk, KEY, 1.5), (a.pk, KEY, 1.0)])
    assert [(r.edge_id, r.content_key, r.score) for r in rows] == [
        (a.pk, KEY, 2.0),
        (b.pk, KEY, 1.5),
    ]
    assert EdgeContent.objects.count() == 2


@pytest.mark.django_db
def test_a_row_another_planner_refreshed_first_is_refreshed_once(site, monkeypatch):
    """Two planners read the same stale row; the second's conditional update finds it already
    pending (and perhaps being fetched) and leaves it as the first left it."""
    from cdn import services

    edge = site.edges.first()
    opened = datetime(2026, 1, 15, 2, tzinfo=UTC)
    row = EdgeContent.objects.create(
        edge=edge, content_key=KEY, status="done", files_done=7, updated_at=opened - timedelta(1)
    )
    original = services.EdgeContent.objects.bulk_update

    def first_planner_wins(*args, **kwargs):  # runs between our read and our refresh
        EdgeContent.objects.filter(pk=row.pk).update(
            status="filling", files_done=2, updated_at=opened + timedelta(minutes=1)
        )
        return original(*args, **kwargs)

    monkeypatch.setattr(services.EdgeContent.objects, "bulk_update", first_planner_wins)
    (planned,) = services.edge_contents_plan([(edge.pk, KEY, 1.0)], refresh_before=opened)
    assert (planned.status, planned.files_done) == ("filling", 2)
    row.refresh_from_db()
    assert (row.status, row.files_done) == ("filling", 2)
