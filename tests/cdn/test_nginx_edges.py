"""Real nginx edges (Debian's package) in front of a real origin: signing, caching, failover,
health polling and warming, end to end."""

from __future__ import annotations

import hashlib
import io
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cdn import warming
from cdn.health import EdgeTarget, Poller, probe
from cdn.management.commands.cdn_health_poller import edge_targets
from cdn.models import Edge, EdgeContent, EdgePinList
from cdn.signing import signed_url
from cdn.steering import holder, steer
from tests.cdn.conftest import wait_until, write_asset
from tests.cdn.factories import EdgeFactory, PlayFactory, SiteFactory

pytestmark = pytest.mark.slow
PREFIX = "hls/9c1e3a77/v1/"


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, b"", dict(exc.headers)


def in_one_hour():
    return timezone.now() + timedelta(hours=1)


def test_valid_token_serves_then_caches_miss_then_hit(nginx_edges, origin):
    files = write_asset(origin.root, PREFIX)
    edge = nginx_edges("e1")
    url = signed_url(edge.base_url, PREFIX, files[-1], expires_at=in_one_hour())
    status, body, headers = get(url)
    assert (status, headers["X-Cache-Status"], headers["X-Edge"]) == (200, "MISS", "e1")
    assert body == (origin.root / PREFIX / files[-1]).read_bytes()
    status, body2, headers = get(url)
    assert (status, headers["X-Cache-Status"], body2) == (200, "HIT", body)
    assert origin.requests.count(f"/media/{PREFIX}{files[-1]}") == 1


def test_one_token_serves_playlists_and_segments_and_byte_ranges(nginx_edges, origin):
    files = write_asset(origin.root, PREFIX)
    edge = nginx_edges("e1")
    for name in files:
        status, _, _ = get(signed_url(edge.base_url, PREFIX, name, expires_at=in_one_hour()))
        assert status == 200
    url = signed_url(edge.base_url, PREFIX, files[-1], expires_at=in_one_hour())
    status, body, headers = get(url, {"Range": "bytes=10-19"})
    assert (status, len(body), headers["Content-Range"]) == (206, 10, "bytes 10-19/4096")
    assert body == (origin.root / PREFIX / files[-1]).read_bytes()[10:20]


def test_tokens_from_other_viewers_share_one_cached_copy(nginx_edges, origin):
    files = write_asset(origin.root, PREFIX)
    edge = nginx_edges("e1")
    a = signed_url(edge.base_url, PREFIX, files[2], expires_at=in_one_hour())
    b = signed_url(edge.base_url, PREFIX, files[2], expires_at=in_one_hour() + timedelta(hours=1))
    assert get(a)[2]["X-Cache-Status"] == "MISS"
    assert get(b)[2]["X-Cache-Status"] == "HIT"


def test_tampered_token_is_403_and_expired_is_410(nginx_edges, origin, settings):
    files = write_asset(origin.root, PREFIX)
    edge = nginx_edges("e1")
    good = signed_url(edge.base_url, PREFIX, files[0], expires_at=in_one_hour())
    other_prefix = good.replace(PREFIX, "hls/9c1e3a77/v2/")
    assert get(other_prefix)[0] == 403
    parts = good.split("/")
    parts[6] = str(int(parts[6]) + 60)  # extend the expiry without re-signing
    assert get("/".join(parts))[0] == 403
    expired = signed_url(
        edge.base_url, PREFIX, files[0], expires_at=timezone.now() - timedelta(seconds=5)
    )
    assert get(expired)[0] == 410
    assert get(f"{edge.base_url}{PREFIX}{files[0]}")[0] == 404  # unsigned paths do not exist
    assert origin.requests == []


def test_address_bound_token_only_works_from_that_address(nginx_edges, origin):
    files = write_asset(origin.root, PREFIX)
    edge = nginx_edges("e1")
    mine = signed_url(
        edge.base_url, PREFIX, files[0], expires_at=in_one_hour(), client_ip="127.0.0.1"
    )
    theirs = signed_url(
        edge.base_url, PREFIX, files[0], expires_at=in_one_hour(), client_ip="10.1.1.1"
    )
    assert (get(mine)[0], get(theirs)[0]) == (200, 403)


def test_rotated_secret_still_verifies_at_the_edge(nginx_edges, origin, settings):
    files = write_asset(origin.root, PREFIX)
    settings.CDN_SIGNING_SECRETS = ["fresh-secret", "older-secret"]
    edge = nginx_edges("e1")
    settings.CDN_SIGNING_SECRETS = ["older-secret"]
    old = signed_url(edge.base_url, PREFIX, files[0], expires_at=in_one_hour())
    settings.CDN_SIGNING_SECRETS = ["retired"]
    unknown = signed_url(edge.base_url, PREFIX, files[0], expires_at=in_one_hour())
    assert (get(old)[0], get(unknown)[0]) == (200, 403)


def test_health_and_load_endpoints(nginx_edges, origin):
    edge = nginx_edges("e1")
    target = EdgeTarget(
        id=1,
        health_url=f"{edge.base_url}cdn-health",
        status_url=f"{edge.base_url}cdn-status",
        capacity=100,
    )
    assert probe(target, timeout=1) == (True, 0.0)
    edge.kill()
    assert probe(target, timeout=0.5) == (False, 0.0)


@pytest.mark.django_db(transaction=True)
def test_killed_edge_is_marked_down_and_new_viewers_are_steered_around_it(
    nginx_edges, origin, cdn_store, settings
):
    """New sessions move within the poller's rounds; viewers already playing fail over in the
    shipped player itself (tests/playback/sessions/test_edge_failover.py, Chromium + hls.js)."""
    settings.CDN_ORIGIN_URL = origin.url
    site = SiteFactory(name="local", is_global_default=True)
    edges = {}
    for name in ("e1", "e2", "e3"):
        edges[name] = nginx_edges(name)
        EdgeFactory(site=site, name=name, base_url=edges[name].base_url)
    poller = Poller(store=cdn_store, targets=edge_targets, down_after=2, up_after=2, timeout=0.3)
    poller.round()
    holder.reset()
    first = steer(client_ip="127.0.0.1", content_key=PREFIX)
    assert len(set(first.edges[:3])) == 3 and first.edges[3] == "origin"
    victim = edges[first.edges[0]]
    victim.kill()
    killed_at = time.monotonic()

    def marked_down() -> bool:
        poller.round()
        return steer(client_ip="127.0.0.1", content_key=PREFIX).edges[0] != victim.name

    wait_until(marked_down, timeout=5, interval=0.05)
    assert time.monotonic() - killed_at < 5
    after = steer(client_ip="127.0.0.1", content_key=PREFIX)
    assert victim.name not in after.edges
    assert after.edges[:2] == [e for e in first.edges if e != victim.name][:2]
    assert Edge.objects.get(name=victim.name).healthy is True  # DB copy only via on_change


@pytest.mark.django_db(transaction=True)
def test_warming_makes_the_next_fetch_a_hit_on_the_steered_edge(nginx_edges, origin, settings):
    files = write_asset(origin.root, PREFIX, segments=4)
    site = SiteFactory(name="local", is_global_default=True)
    for name in ("e1", "e2"):
        EdgeFactory(site=site, name=name, base_url=nginx_edges(name).base_url)
    holder.reset()
    decision = steer(client_ip="127.0.0.1", content_key=PREFIX)
    planned = warming.plan_site(site=site, scores={PREFIX: 5.0})
    assert len(planned) == 2  # the only key is the hottest: two copies
    row = EdgeContent.objects.get(pk=planned[0])
    assert row.edge.name == decision.edges[0]
    assert warming.prefetch(row_id=row.pk, budget=2) == "more"
    assert warming.prefetch(row_id=row.pk) == "done"
    assert warming.prefetch(row_id=row.pk) == "busy"  # idempotent: done rows are not redone
    row.refresh_from_db()
    assert (row.status, row.files_done, row.queue) == ("done", len(files), [])
    assert row.bytes_done == sum((origin.root / PREFIX / f).stat().st_size for f in files)
    # The segments were HEADs: the edge fetched and stored them all the same.
    for name in files:
        url = signed_url(decision.urls[0], PREFIX, name, expires_at=in_one_hour())
        assert get(url)[2]["X-Cache-Status"] == "HIT"
    # The next fill window reads the key through the edge again: every file is a hit there
    # (nginx moves it to the head of its queue), nothing comes from the origin.
    hits = Edge.objects.get(pk=row.edge_id).hits
    tomorrow = timezone.now() + timedelta(days=1)
    assert row.pk in warming.plan_site(site=site, scores={PREFIX: 5.0}, now=tomorrow)
    assert warming.prefetch(row_id=row.pk) == "done"
    assert Edge.objects.get(pk=row.edge_id).hits == hits + len(files)


@pytest.mark.django_db(transaction=True)
def test_a_pinned_title_warmed_from_its_pin_list_is_a_hit_from_the_pin_zone(
    nginx_edges, origin, tmp_path
):
    """cdn_edge_lists pins the played title on the edge and records the list; warm() plans it
    from that list, the warmer's fetches store every file in the pin zone (stored at the first
    request), and a viewer's GET is a HIT there; the LRU zone holds none of it."""
    files = write_asset(origin.root, PREFIX, segments=3)
    site = SiteFactory(name="local", is_global_default=True)
    row = EdgeFactory(site=site, name="e1")
    now = timezone.now()
    for minutes in (5, 6):
        PlayFactory(
            created_at=now - timedelta(minutes=minutes), content_key=PREFIX, site_name="local"
        )
    lists = tmp_path / "lists"
    call_command("cdn_edge_lists", out_dir=str(lists), pin_titles=1, stdout=io.StringIO())
    assert EdgePinList.objects.get(edge=row).keys == [PREFIX]
    edge = nginx_edges(
        "e1",
        admission_list=str(lists / "e1.admission.map"),
        pin_list=str(lists / "e1.pin.map"),
        pin_max_size="1m",
    )
    Edge.objects.filter(pk=row.pk).update(base_url=edge.base_url)
    (row_id,) = warming.warm(now=now, sites=[site])["local"]
    assert EdgeContent.objects.filter(pk=row_id, edge=row, content_key=PREFIX).exists()
    assert warming.prefetch(row_id=row_id) == "done"
    for name in files:
        url = signed_url(edge.base_url, PREFIX, name, expires_at=in_one_hour())
        assert get(url)[2]["X-Cache-Status"] == "HIT"
    assert [origin.requests.count(f"/media/{PREFIX}{name}") for name in files] == [1] * len(files)
    # A cache file is named by the MD5 of its key (the path after the token).
    names = {hashlib.md5(f"{PREFIX}{n}".encode(), usedforsecurity=False).hexdigest() for n in files}

    def held(cache: str) -> set[str]:
        return {p.name for p in (edge.prefix / cache).rglob("*") if p.is_file()}

    assert held("cache-pin") == names
    assert held("cache") == set()
