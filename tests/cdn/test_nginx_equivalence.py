"""The simulator's nginx model against a real nginx edge rendered by `cdn_nginx_config`: the
same trace, the same admission list and proxy_cache_min_uses, the same hit/miss sequence and
the same files held after every request (cache eviction included)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from cdn import touches, warming
from cdn.admission import write_admission_list, write_pin_list
from cdn.caches import LRU, NginxCache
from cdn.edge_replay import run_zones
from cdn.keep_hot import touch
from cdn.models import EdgeMode
from cdn.routed_trace import CHUNK_BITS
from cdn.signing import signed_url
from tests.cdn.conftest import free_port, wait_until
from tests.cdn.factories import EdgeFactory
from tests.cdn.test_nginx_edges import get

pytestmark = [pytest.mark.slow, pytest.mark.needs_nginx]

CAPACITY = 3  # files the edge's cache holds
BLOCKS = 3  # filesystem blocks one cached file takes (body + nginx's header)
TITLES = [f"hls/q{i}/v1/" for i in range(7)]
# One segment of one rendition: a rendition folder is the scope a media token opens.
SEGMENT = "720p/seg0.ts"
NOT_ADMITTED = {"hls/q5/v1/", "hls/q6/v1/"}
# Reuse, scans that push the cache over its size, titles that are never admitted and a title
# that needs its second lookup: every rule of the model is exercised.
TRACE = [0, 1, 0, 2, 5, 0, 3, 3, 1, 4, 4, 6, 5, 0, 2, 2, 3, 1, 1, 4]


def cached_keys(cache_dir: Path, names: dict[str, str]) -> set[str]:
    """The cache keys of the files nginx holds (a cache file is named by its key's MD5)."""
    return {names[p.name] for p in cache_dir.rglob("*") if p.is_file() and p.name in names}


def settle(
    cache_dir: Path, names: dict[str, str], held: set[str], where: str, real: list, simulated: list
) -> None:
    """Wait for nginx to hold what the model holds: it stores after the response, and its
    cache manager evicts on its own clock (at most 10 s apart)."""
    try:
        wait_until(lambda: cached_keys(cache_dir, names) == held, timeout=25)
    except AssertionError:
        raise AssertionError(
            f"{where}: nginx holds {sorted(cached_keys(cache_dir, names))}, "
            f"the model {sorted(held)}; so far real {real}, simulated {simulated}"
        ) from None


@pytest.fixture
def admitting_edge(tmp_path, origin) -> Iterator[tuple[str, Path]]:
    with _edge(tmp_path, origin) as (base_url, cache_dir, _):
        yield base_url, cache_dir


@contextmanager
def _edge(tmp_path, origin, **render) -> Iterator[tuple[str, Path, Path]]:
    """A real edge over TITLES: min_uses 2, all but NOT_ADMITTED admitted, CAPACITY files;
    `render` goes to cdn_nginx_config too. Yields its base URL, cache and prefix."""
    bsize = os.statvfs(tmp_path).f_bsize
    for title in TITLES:
        (origin.root / title / "720p").mkdir(parents=True)
        # More than BLOCKS - 1 blocks with nginx's header, no more than BLOCKS.
        (origin.root / title / SEGMENT).write_bytes(os.urandom(BLOCKS * bsize - 1024))
    prefix = tmp_path / "edge"
    prefix.mkdir()
    admission = prefix / "admission.map"
    write_admission_list(str(admission), [t for t in TITLES if t not in NOT_ADMITTED])
    port = free_port()
    call_command(
        "cdn_nginx_config",
        name="eq",
        listen=f"127.0.0.1:{port}",
        origin=origin.url,
        prefix=str(prefix),
        user="root" if os.geteuid() == 0 else None,
        # nginx stores while the cache takes fewer blocks than max_size: CAPACITY files.
        cache_max_size=str((CAPACITY * BLOCKS + 1) * bsize),
        min_uses=2,
        admission_list=str(admission),
        output=str(prefix / "nginx.conf"),
        stdout=open(os.devnull, "w"),  # noqa: SIM115
        **render,
    )
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def ready():
        assert process.poll() is None, process.stderr.read().decode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    try:
        wait_until(ready, timeout=10)
        yield f"http://127.0.0.1:{port}/", prefix / "cache", prefix
    finally:
        if process.poll() is None:  # it may have refused its configuration: `ready` says why
            os.killpg(process.pid, signal.SIGQUIT)
        process.wait(timeout=10)


def test_real_nginx_and_the_simulator_hit_and_evict_the_same(admitting_edge):
    base_url, cache_dir = admitting_edge
    keys = [f"{t}{SEGMENT}" for t in TITLES]
    names = {hashlib.md5(k.encode(), usedforsecurity=False).hexdigest(): k for k in keys}
    model = NginxCache(CAPACITY, min_uses=2)
    admit = [0 if TITLES[i] in NOT_ADMITTED else 1 for i in TRACE]
    expires = timezone.now() + timedelta(hours=1)
    real, simulated = [], []
    for step, title_index in enumerate(TRACE):
        title = TITLES[title_index]
        status, _, headers = get(signed_url(base_url, title, SEGMENT, expires_at=expires))
        assert status == 200
        real.append(headers["X-Cache-Status"])
        hits = bytearray(1)
        model.run([keys[title_index]], 0, 1, hits, ts=[float(step)], admit=[admit[step]])
        simulated.append("HIT" if hits[0] else "MISS")
        settle(cache_dir, names, {k for k in keys if k in model}, f"step {step}", real, simulated)
    assert real == simulated
    assert real == [
        "MISS", "MISS", "MISS", "MISS", "MISS", "HIT", "MISS", "MISS", "MISS", "MISS",
        "MISS", "MISS", "MISS", "MISS", "MISS", "MISS", "MISS", "HIT", "HIT", "HIT",
    ]  # fmt: skip
    # The rules matter: a plain LRU of the same size would have answered otherwise.
    lru = LRU(CAPACITY)
    assert [lru.access(i) for i in TRACE].count(True) == 6


def test_a_warming_head_is_a_lookup_as_the_simulator_inserts_it(admitting_edge):
    """The warmer's HEAD (cdn.warming.fetch) through a real edge against `NginxCache.insert`:
    it counts a use, stores at the min_uses-th, and a HEAD of a held file moves it to the head
    of the queue, so the next eviction takes another file (the fill's re-read)."""
    base_url, cache_dir = admitting_edge
    keys = [f"{t}{SEGMENT}" for t in TITLES]
    names = {hashlib.md5(k.encode(), usedforsecurity=False).hexdigest(): k for k in keys}
    model = NginxCache(CAPACITY, min_uses=2)
    expires = timezone.now() + timedelta(hours=1)
    steps = [
        (0, "GET"), (0, "GET"), (1, "GET"), (1, "GET"), (2, "GET"), (2, "GET"),  # 0, 1, 2 held
        (0, "HEAD"),  # a hit: 0 goes to the head, 1 is now the oldest
        (3, "GET"), (3, "GET"),  # 3 stored: 1 goes, not 0
        (0, "GET"),  # still there
        (4, "HEAD"), (4, "GET"),  # the HEAD was the first use: the GET stores it
        (4, "HEAD"),
    ]  # fmt: skip
    real, simulated = [], []
    for step, (title_index, method) in enumerate(steps):
        url = signed_url(base_url, TITLES[title_index], SEGMENT, expires_at=expires)
        if method == "HEAD":
            status, body, cache_status, size = warming.fetch(url, head=True)
            assert (status, body) == (200, b"") and size > 0
            real.append(cache_status)
            hit = keys[title_index] in model
            model.insert(keys[title_index], ts=float(step))
        else:
            status, _, headers = get(url)
            assert status == 200
            real.append(headers["X-Cache-Status"])
            hits = bytearray(1)
            model.run([keys[title_index]], 0, 1, hits, ts=[float(step)], admit=[1])
            hit = bool(hits[0])
        simulated.append("HIT" if hit else "MISS")
        settle(cache_dir, names, {k for k in keys if k in model}, f"step {step}", real, simulated)
    assert real == simulated
    assert real[6] == "HIT" and real[9] == "HIT" and real[12] == "HIT"
    assert keys[1] not in model and keys[0] in model


def test_a_touch_is_a_lookup_that_stores_nothing_and_asks_no_origin(tmp_path, origin):
    """Keep-hot touches (`HEAD /_touch/<cache key>`, `--touch-allow`; measured by
    bench/cdn_keep_hot.py) through a real edge against the model's lookup that stores nothing,
    `run(..., admit=[0])`: a touch of a held file is a HIT that moves it to the head of the
    queue, so the next eviction takes another; a touch of a file not held is a 204 that asks
    the origin nothing and stores nothing, but counts one use (under min_uses 2 the next GET
    stores it). Touches stay out of the access log the ingest reads."""
    with _edge(tmp_path, origin, touch_allow=["127.0.0.1"]) as (base_url, cache_dir, prefix):
        keys = [f"{t}{SEGMENT}" for t in TITLES]
        names = {hashlib.md5(k.encode(), usedforsecurity=False).hexdigest(): k for k in keys}
        model = NginxCache(CAPACITY, min_uses=2)
        expires = timezone.now() + timedelta(hours=1)
        steps = [
            (0, "GET"), (0, "GET"), (1, "GET"), (1, "GET"), (2, "GET"), (2, "GET"),  # all held
            (0, "TOUCH"),  # a hit: 0 goes to the head, 1 is now the oldest
            (3, "GET"), (3, "GET"),  # 3 stored: 1 goes, not 0
            (0, "GET"),  # still there
            (4, "TOUCH"),  # not held: a 204, no origin, nothing stored, one use
            (4, "GET"),  # the second use: stored, 2 goes
            (4, "GET"),
            (1, "TOUCH"),  # gone: a 204 again
        ]  # fmt: skip
        real, simulated = [], []
        for step, (title_index, method) in enumerate(steps):
            key = keys[title_index]
            hits = bytearray(1)
            if method == "TOUCH":
                held = key in model
                asked = list(origin.requests)
                status, body, cache_status, _ = warming.fetch(f"{base_url}_touch/{key}", head=True)
                assert (status, body) == ((200 if held else 204), b""), step
                assert origin.requests == asked, step
                hits[0] = touch(model, [key], at=float(step))
            else:
                status, _, headers = get(
                    signed_url(base_url, TITLES[title_index], SEGMENT, expires_at=expires)
                )
                assert status == 200
                cache_status = headers["X-Cache-Status"]
                model.run([key], 0, 1, hits, ts=[float(step)], admit=[1])
            real.append(cache_status)
            simulated.append("HIT" if hits[0] else "MISS")
            settle(
                cache_dir, names, {k for k in keys if k in model}, f"step {step}", real, simulated
            )
        assert real == simulated
        assert [real[i] for i in (6, 9, 10, 11, 12, 13)] == [
            "HIT",
            "HIT",
            "MISS",
            "MISS",
            "HIT",
            "MISS",
        ]
        assert keys[0] in model and keys[1] not in model and keys[2] not in model
        assert "/_touch/" not in (prefix / "access.log").read_text()


@pytest.mark.django_db
def test_the_touch_run_keeps_an_lru_mode_edges_hot_file_through_an_eviction(tmp_path, origin):
    """`cdn.touches.touch_edge` against a real edge: the list `cdn_edge_lists` recorded, sent
    coldest first; the held file is a HIT that moves it to the head, so the eviction that
    follows takes another file; the file not held asks no origin. What was sent is recorded."""
    with _edge(tmp_path, origin, touch_allow=["127.0.0.1"]) as (base_url, cache_dir, _):
        keys = [f"{t}{SEGMENT}" for t in TITLES]
        names = {hashlib.md5(k.encode(), usedforsecurity=False).hexdigest(): k for k in keys}
        expires = timezone.now() + timedelta(hours=1)

        def get_status(i: int) -> str:
            status, _, headers = get(signed_url(base_url, TITLES[i], SEGMENT, expires_at=expires))
            assert status == 200
            return headers["X-Cache-Status"]

        for i in (0, 0, 1, 1, 2, 2):  # all three held; 0 the oldest
            get_status(i)
        wait_until(lambda: cached_keys(cache_dir, names) == set(keys[:3]), timeout=25)
        edge = EdgeFactory(name="eq", base_url=base_url)
        EdgeMode.objects.create(
            edge=edge, mode="lru", touch_keys=[keys[4], keys[0]], updated_at=timezone.now()
        )
        asked = list(origin.requests)
        assert touches.touch_edge(edge_id=edge.pk) == "done"
        assert origin.requests == asked  # the file not held (4) asked no origin
        row = EdgeMode.objects.get(edge=edge)
        assert (row.touches, row.touch_hits, row.touch_error) == (2, 1, "")
        assert [get_status(3), get_status(3)] == ["MISS", "MISS"]  # stored: the oldest goes
        # The cache manager evicts on its own clock: wait for it as the model test does.
        wait_until(lambda: cached_keys(cache_dir, names) == {keys[0], keys[2], keys[3]}, timeout=25)
        assert get_status(0) == "HIT"  # untouched it would have been the one to go


@pytest.mark.django_db
def test_a_touch_run_an_edge_refuses_stops_and_says_why(tmp_path, origin):
    with _edge(tmp_path, origin, touch_allow=["10.0.0.0/8"]) as (base_url, _, _):
        edge = EdgeFactory(name="eq", base_url=base_url)
        key = f"{TITLES[0]}{SEGMENT}"
        EdgeMode.objects.create(
            edge=edge, mode="lru", touch_keys=[key, key], updated_at=timezone.now()
        )
        assert touches.touch_edge(edge_id=edge.pk) == "failed"
        row = EdgeMode.objects.get(edge=edge)
        assert row.touches == 0
        assert (
            row.touch_error
            == f"{key}: HTTP 403 (is the edge rendered with --touch-allow for this host?)"
        )


def test_a_touch_from_an_address_not_allowed_is_refused(tmp_path, origin):
    with _edge(tmp_path, origin, touch_allow=["10.0.0.0/8"]) as (base_url, _, _):
        asked = list(origin.requests)
        status, *_ = warming.fetch(f"{base_url}_touch/{TITLES[0]}{SEGMENT}", head=True)
        assert status == 403
        assert origin.requests == asked


def test_pinned_titles_are_stored_at_once_in_their_own_zone_the_rest_at_min_uses(tmp_path, origin):
    """Title 0 is admitted to the LRU zone (stored at its second request, min_uses 2), title 1
    is pinned (its own zone, stored at its first request: the `@pinned` location), title 2 is
    neither (never stored). The real edge and the simulator's two zones (`run_zones`) answer
    the same, request by request."""
    for title in TITLES[:3]:
        (origin.root / title / "720p").mkdir(parents=True)
        (origin.root / title / SEGMENT).write_bytes(os.urandom(2048))
    prefix = tmp_path / "edge"
    prefix.mkdir()
    write_admission_list(str(prefix / "admit.map"), [TITLES[0], TITLES[1]])
    write_pin_list(str(prefix / "pin.map"), [TITLES[1]], zone="pz")
    port = free_port()
    call_command(
        "cdn_nginx_config",
        name="pz",
        listen=f"127.0.0.1:{port}",
        origin=origin.url,
        prefix=str(prefix),
        user="root" if os.geteuid() == 0 else None,
        min_uses=2,
        admission_list=str(prefix / "admit.map"),
        pin_list=str(prefix / "pin.map"),
        pin_max_size="1m",
        output=str(prefix / "nginx.conf"),
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:

        def ready():
            assert process.poll() is None, process.stderr.read().decode()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(ready, timeout=10)
        keys = [f"{t}{SEGMENT}" for t in TITLES[:3]]
        names = {hashlib.md5(k.encode(), usedforsecurity=False).hexdigest(): k for k in keys}
        expires = timezone.now() + timedelta(hours=1)
        url = f"http://127.0.0.1:{port}/"
        order = [0, 1, 2] * 3
        real = []
        for i in order:
            status, body, headers = get(signed_url(url, TITLES[i], SEGMENT, expires_at=expires))
            assert status == 200  # @pinned proxies the same file: the captures carried over
            assert body == (origin.root / TITLES[i] / SEGMENT).read_bytes()
            real.append(headers["X-Cache-Status"])
        zones = {True: NginxCache(10, min_uses=1), False: NginxCache(10, min_uses=2)}
        objs = [i << CHUNK_BITS for i in order]
        hits = bytearray(len(objs))
        times = [float(t) for t in range(len(objs))]
        run_zones(zones, objs, times, hits, 0, len(objs), pinned={1}, admitted={0, 1})
        assert real == ["HIT" if h else "MISS" for h in hits]
        assert real == ["MISS", "MISS", "MISS", "MISS", "HIT", "MISS", "HIT", "HIT", "MISS"]
        wait_until(lambda: cached_keys(prefix / "cache", names) == {keys[0]})
        assert cached_keys(prefix / "cache-pin", names) == {keys[1]}
    finally:
        os.killpg(process.pid, signal.SIGQUIT)
        process.wait(timeout=10)
