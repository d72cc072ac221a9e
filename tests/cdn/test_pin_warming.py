"""Warming fills the pin lists `cdn_edge_lists` recorded: each edge its own keys, hottest first;
a site without a recent list falls back to the demand provider."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cdn import tasks, warming
from cdn.models import Edge, EdgeContent, EdgePinList
from tests.cdn.factories import EdgeFactory, PlayFactory, SiteFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 15, 3, tzinfo=UTC)  # inside the default 02:00-06:00 window (UTC)
DEMANDED = "hls/demanded/v1/"


def demand(*, now):
    return {"nyc": {DEMANDED: 9.0}}


@pytest.fixture
def site(settings):
    settings.CDN_DEMAND_PROVIDER = "tests.cdn.test_pin_warming.demand"
    settings.CDN_WARM_PIN_LISTS_MAX_AGE = 7200
    site = SiteFactory(name="nyc")
    for i in range(3):
        EdgeFactory(site=site, name=f"nyc-{i}")
    return site


def edges(site) -> list[Edge]:
    return list(site.edges.order_by("name"))


def pin(edge: Edge, keys: list[str], *, at: datetime = NOW) -> None:
    EdgePinList.objects.update_or_create(edge=edge, defaults={"keys": keys, "decided_at": at})


def planned(ids: list[int]) -> list[tuple[str, str]]:
    rows = EdgeContent.objects.select_related("edge").in_bulk(ids)
    return [(rows[i].edge.name, rows[i].content_key) for i in ids]


LISTS = {
    "nyc-0": ["hls/a0/v1/", "hls/a1/v1/", "hls/a2/v1/"],
    "nyc-1": ["hls/b0/v1/", "hls/b1/v1/"],
    "nyc-2": ["hls/c0/v1/"],
}


def test_each_edge_gets_its_own_pinned_keys_hottest_first_and_nothing_else(site):
    for edge in edges(site):
        pin(edge, LISTS[edge.name])
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    # Every edge's first key, then every edge's second, ...; no demanded key, no other edge.
    assert planned(ids) == [
        ("nyc-0", "hls/a0/v1/"),
        ("nyc-1", "hls/b0/v1/"),
        ("nyc-2", "hls/c0/v1/"),
        ("nyc-0", "hls/a1/v1/"),
        ("nyc-1", "hls/b1/v1/"),
        ("nyc-0", "hls/a2/v1/"),
    ]
    assert EdgeContent.objects.count() == 6
    # Scores sort an edge's rows as its list does.
    assert list(
        EdgeContent.objects.filter(edge__name="nyc-0").values_list("content_key", "score")
    ) == [("hls/a0/v1/", 3.0), ("hls/a1/v1/", 2.0), ("hls/a2/v1/", 1.0)]


def test_an_edge_whose_window_filled_its_cache_takes_no_more_pinned_keys(site):
    full, *others = edges(site)
    EdgeContent.objects.create(
        edge=full,
        content_key="hls/old/v1/",
        status="done",
        bytes_done=full.cache_bytes,
        updated_at=NOW - timedelta(minutes=30),  # fetched in this window
    )
    for edge in edges(site):
        pin(edge, LISTS[edge.name])
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    assert planned(ids) == [
        ("nyc-1", "hls/b0/v1/"),
        ("nyc-2", "hls/c0/v1/"),
        ("nyc-1", "hls/b1/v1/"),
    ]
    assert list(EdgeContent.objects.filter(edge=full).values_list("content_key", flat=True)) == [
        "hls/old/v1/"
    ]


@pytest.mark.parametrize(
    ("age", "from_lists"),
    [
        (timedelta(seconds=7199), True),
        (timedelta(seconds=7200), True),
        (timedelta(seconds=7201), False),  # the lists job stopped: demand plans it
        (None, False),  # never decided
    ],
)
def test_a_stale_or_missing_pin_list_falls_back_to_the_demand_provider(site, age, from_lists):
    if age is not None:
        for edge in edges(site):
            pin(edge, LISTS[edge.name], at=NOW - age)
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    keys = {key for _, key in planned(ids)}
    if from_lists:
        assert keys == {k for ks in LISTS.values() for k in ks}
    else:
        # The only demanded key is the hottest: the two edges steering ranks first for it.
        ranked = warming.site_edges_ranked(edges(site), DEMANDED)
        assert planned(ids) == [(ranked[0].name, DEMANDED), (ranked[1].name, DEMANDED)]


def test_a_max_age_of_zero_never_plans_from_the_lists(site, settings):
    settings.CDN_WARM_PIN_LISTS_MAX_AGE = 0
    for edge in edges(site):
        pin(edge, LISTS[edge.name], at=NOW)
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    assert {key for _, key in planned(ids)} == {DEMANDED}


@pytest.mark.parametrize("state", [Edge.AdminState.OFFLINE, Edge.AdminState.DRAIN])
def test_an_edge_taken_out_of_service_is_not_planned(site, state):
    for edge in edges(site):
        pin(edge, LISTS[edge.name])
    Edge.objects.filter(name="nyc-0").update(admin_state=state)
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    assert planned(ids) == [
        ("nyc-1", "hls/b0/v1/"),
        ("nyc-2", "hls/c0/v1/"),
        ("nyc-1", "hls/b1/v1/"),
    ]
    assert not EdgeContent.objects.filter(edge__name="nyc-0").exists()


def test_a_site_whose_only_recent_list_is_an_offline_edges_falls_back_to_demand(site):
    offline = edges(site)[0]
    pin(offline, LISTS[offline.name])
    Edge.objects.filter(pk=offline.pk).update(admin_state=Edge.AdminState.OFFLINE)
    ids = warming.warm(now=NOW, sites=[site])["nyc"]
    assert {key for _, key in planned(ids)} == {DEMANDED}
    assert offline.name not in {name for name, _ in planned(ids)}


def test_a_pinned_key_is_fetched_again_once_per_fill_window(site):
    edge = edges(site)[0]
    key = LISTS[edge.name][0]
    yesterday, today = NOW - timedelta(days=1), NOW
    row = EdgeContent.objects.create(
        edge=edge,
        content_key=key,
        status="done",
        files_done=7,
        bytes_done=edge.cache_bytes,  # yesterday's fill took the whole cache
        updated_at=yesterday,
    )
    pin(edge, [key], at=today - timedelta(minutes=55))
    assert warming.warm(now=today, sites=[site]) == {"nyc": [row.pk]}
    row.refresh_from_db()
    assert (row.status, row.files_done, row.bytes_done, row.queue) == ("pending", 0, 0, [])
    EdgeContent.objects.filter(pk=row.pk).update(
        status="done", files_done=7, bytes_done=700, updated_at=today + timedelta(minutes=20)
    )
    later = today + timedelta(hours=1)
    pin(edge, [key], at=later - timedelta(minutes=55))
    assert warming.warm(now=later, sites=[site]) == {"nyc": []}
    row.refresh_from_db()
    assert (row.status, row.files_done) == ("done", 7)
    tomorrow = today + timedelta(days=1)
    pin(edge, [key], at=tomorrow - timedelta(minutes=55))
    assert warming.warm(now=tomorrow, sites=[site]) == {"nyc": [row.pk]}


def test_the_beat_task_enqueues_each_edges_pinned_keys_coldest_first(site, monkeypatch):
    site.fill_start_hour, site.fill_end_hour = 0, 24
    site.save(update_fields=["fill_start_hour", "fill_end_hour"])
    for edge in edges(site):
        pin(edge, LISTS[edge.name], at=timezone.now())
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        tasks.warm_edge_content,
        "delay_on_commit",
        lambda row_id: sent.extend(planned([row_id])),
    )
    assert tasks.warm_sites() == {"nyc": 6}
    for name, keys in LISTS.items():
        assert [key for edge, key in sent if edge == name] == keys[::-1]


# --- What cdn_edge_lists records ----------------------------------------------------------------


def play(key: str, *, at: datetime, times: int) -> None:
    for i in range(times):
        PlayFactory(created_at=at - timedelta(seconds=i + 1), content_key=key, site_name="paris")


def test_cdn_edge_lists_records_each_edges_pin_list_in_rank_order_and_replaces_it(
    tmp_path, monkeypatch
):
    site = SiteFactory(name="paris")
    p1, p2 = EdgeFactory(site=site, name="p1"), EdgeFactory(site=site, name="p2")
    EdgeFactory(site=site, name="p3", admin_state="drain")  # no lists, nothing recorded
    first = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    keys = [f"hls/k{i}/v1/" for i in range(6)]
    for i, key in enumerate(keys):
        play(key, at=first - timedelta(minutes=5), times=6 - i)  # k0 the most played
    owner = {k: warming.site_edges_ranked([p1, p2], k)[0].name for k in keys}
    assert set(owner.values()) == {"p1", "p2"}  # the test needs keys on both edges

    def run(at: datetime) -> dict[str, tuple[list[str], datetime]]:
        monkeypatch.setattr(timezone, "now", lambda: at)
        # Three titles each: six for the site, every played one; none on two edges (hot 0).
        call_command("cdn_edge_lists", out_dir=str(tmp_path), pin_titles=3, stdout=io.StringIO())
        return {
            row.edge.name: (row.keys, row.decided_at)
            for row in EdgePinList.objects.select_related("edge")
        }

    recorded = run(first)
    assert recorded == {
        name: ([k for k in keys if owner[k] == name], first) for name in ("p1", "p2")
    }
    for name, (pinned, _) in recorded.items():  # the same titles as the map file nginx reads
        lines = (tmp_path / f"{name}.pin.map").read_text().splitlines()
        assert sorted(pinned) == [line.split()[0] for line in lines]

    # The coldest title becomes the hottest: the next run replaces both rows.
    second = first + timedelta(hours=1)
    play(keys[5], at=second, times=20)
    recorded = run(second)
    reranked = [keys[5], *keys[:5]]
    assert recorded == {
        name: ([k for k in reranked if owner[k] == name], second) for name in ("p1", "p2")
    }
    assert EdgePinList.objects.count() == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [("yesterday", "is not an ISO time"), ("2026-01-15T07:00:00", "has no UTC offset")],
)
def test_cdn_edge_lists_refuses_a_now_it_cannot_place_in_time(tmp_path, value, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("cdn_edge_lists", out_dir=str(tmp_path), now=value, stdout=io.StringIO())


def test_cdn_edge_lists_decides_as_at_the_given_now(site, tmp_path):
    """--now: the plays before it decide, and the lists are recorded as decided then."""
    for minutes in (5, 6):
        PlayFactory(
            created_at=NOW - timedelta(minutes=minutes),
            content_key="hls/before/v1/",
            site_name="nyc",
        )
    PlayFactory(created_at=NOW + timedelta(minutes=5), content_key="hls/after/v1/", site_name="nyc")
    call_command("cdn_edge_lists", out_dir=str(tmp_path), now=NOW.isoformat(), stdout=io.StringIO())
    rows = list(EdgePinList.objects.all())
    assert {row.decided_at for row in rows} == {NOW}
    assert {key for row in rows for key in row.keys} == {"hls/before/v1/"}
