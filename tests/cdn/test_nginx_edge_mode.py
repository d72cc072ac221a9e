"""The per-edge mode end to end on a real nginx edge (Debian's package): rendered with a mode file,
its access log ingested into the arms, `cdn_edge_lists` switching it from pin to LRU, a reload,
and nginx storing as the new mode says while the files stored under the old one still hit."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from cdn import tasks, warming
from cdn.edge_logs import ingest_log
from cdn.models import Edge, EdgeLookups, EdgeMode, EdgePinList, EdgeTrafficMinute
from cdn.signing import signed_url
from tests.cdn.conftest import _start_nginx, free_port, stop_nginx, wait_until, write_asset
from tests.cdn.factories import EdgeFactory, PlayFactory, SiteFactory
from tests.cdn.test_nginx_edges import get

pytestmark = [pytest.mark.slow, pytest.mark.needs_nginx, pytest.mark.django_db]
PINNED, OTHER = "hls/70a1/v1/", "hls/70b2/v1/"


def children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def status(url: str) -> str:
    code, _, headers = get(url)
    assert code == 200
    return headers["X-Cache-Status"]


@pytest.fixture
def mode_edge(tmp_path, origin, settings):
    """Edge "e1" in site "paris", rendered by cdn_nginx_config in the per-edge mode; the lists
    are cdn_edge_lists' files in <tmp>/lists, written before it starts."""
    settings.CDN_EDGE_MODE_EVERY = 3600
    settings.CDN_EDGE_MODE_FILES = 2
    site = SiteFactory(name="paris", is_global_default=True)
    EdgeFactory(site=site, name="e1")
    now = timezone.now()
    for minutes, key in [(5, PINNED), (6, PINNED), (7, PINNED), (8, OTHER)]:
        PlayFactory(created_at=now - timedelta(minutes=minutes), content_key=key, site_name="paris")
    lists = tmp_path / "lists"
    out = io.StringIO()
    call_command("cdn_edge_lists", out_dir=str(lists), pin_titles=1, stdout=out)
    assert out.getvalue() == "e1: 1 admitted, 1 pinned, mode pin\n"
    assert EdgePinList.objects.get(edge__name="e1").keys == [PINNED]  # what warming fills

    prefix = tmp_path / "nginx-e1"
    base_url, process = start_mode_edge(
        prefix, lists, origin_url=origin.url, touch_allow=["127.0.0.1"]
    )
    yield base_url, prefix, lists, process
    stop_nginx(process)


def start_mode_edge(
    prefix: Path, lists: Path, *, origin_url: str, stdout: io.StringIO | None = None, **render
) -> tuple[str, subprocess.Popen]:
    """Edge "e1" rendered by cdn_nginx_config in the per-edge mode under <prefix>, reading its
    lists from <lists>, and started: (its base URL, the nginx process)."""
    port = free_port()
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    call_command(
        "cdn_nginx_config",
        name="e1",
        listen=f"127.0.0.1:{port}",
        origin=origin_url,
        prefix=str(prefix),
        admission_list=str(lists / "e1.admission.map"),
        mode_file=str(lists / "e1.mode.conf"),
        user="root" if os.geteuid() == 0 else None,
        output=str(conf),
        stdout=stdout or io.StringIO(),
        **render,
    )
    return f"http://127.0.0.1:{port}/", _start_nginx(prefix, conf, port)


def test_a_real_edge_switches_from_pin_to_lru_and_keeps_what_it_pinned(mode_edge, origin):
    base, prefix, lists, process = mode_edge
    pinned_files = write_asset(origin.root, PINNED, segments=1)
    other_files = write_asset(origin.root, OTHER, segments=3)
    expires = timezone.now() + timedelta(hours=1)

    def url(prefix_: str, name: str) -> str:
        return signed_url(base, prefix_, name, expires_at=expires)

    p0 = url(PINNED, pinned_files[-1])
    o0, o1, o2 = (url(OTHER, name) for name in other_files[-3:])
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"
    assert (lists / "e1.admission.map").read_text() == f"{PINNED} 0;\n"
    # Pin mode: the pinned title is stored at its first request; the other title never is.
    assert [status(p0), status(p0)] == ["MISS", "HIT"]
    assert [status(o0), status(o1), status(o0), status(o1), status(o0), status(o1)] == ["MISS"] * 6
    log = prefix / "access.log"
    wait_until(lambda: len(log.read_bytes().splitlines()) == 8)

    # The arms (2 files): pin-only hits once (p0); LRU-only (both titles played before, stored
    # at the 2nd request) stores o0 and o1 at their 2nd and hits their 3rd: twice.
    assert ingest_log(path=str(log), max_bytes=1 << 20).lines == 8
    assert EdgeMode.objects.get(edge__name="e1").lookups == 0  # kept, replayed by the command

    out = io.StringIO()
    call_command("cdn_edge_lists", out_dir=str(lists), pin_titles=1, stdout=out)
    row = EdgeMode.objects.get(edge__name="e1")
    assert (row.lookups, row.pin_hits, row.lru_hits, row.capacity) == (8, 1, 2, 2)
    assert out.getvalue() == "e1: 2 admitted, 1 pinned, mode lru (switched: reload it)\n"
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 2;\n"
    assert (lists / "e1.admission.map").read_text() == f"{PINNED} 0;\n{OTHER} 0;\n"
    row.refresh_from_db()
    assert (row.mode, row.pinned, row.played) == ("lru", [PINNED], [PINNED, OTHER])
    assert EdgePinList.objects.get(edge__name="e1").keys == []  # the LRU mode pins nothing

    before = children(process.pid)
    process.send_signal(signal.SIGHUP)  # the reload the command asked for
    wait_until(lambda: children(process.pid) and not children(process.pid) & before, timeout=10)

    # LRU mode: a file of the title not pinned is stored at its 2nd request, hit at its 3rd;
    # what the pin mode stored stays and hits.
    assert [status(o2), status(o2), status(o2)] == ["MISS", "MISS", "HIT"]
    assert status(p0) == "HIT"
    assert origin.requests.count(f"/media/{PINNED}{pinned_files[-1]}") == 1


def test_an_lru_mode_edge_is_sent_the_touches_its_own_reads_decide(mode_edge, origin, settings):
    """Keep-hot touches end to end: the edge's logged lookups ingested, `cdn_edge_lists`
    switching it to LRU with its hottest file to touch, the hourly task sending the touch, and
    the edge counting it as a use of that file's node."""
    settings.CDN_EDGE_TOUCH_PERCENT = 50  # one file of the arms' two
    base, prefix, lists, process = mode_edge
    Edge.objects.filter(name="e1").update(base_url=base)
    pinned_files = write_asset(origin.root, PINNED, segments=1)
    other_files = write_asset(origin.root, OTHER, segments=2)
    expires = timezone.now() + timedelta(hours=1)
    p0 = signed_url(base, PINNED, pinned_files[-1], expires_at=expires)
    o0, o1 = (signed_url(base, OTHER, name, expires_at=expires) for name in other_files[-2:])
    # Pin mode: o1 read most, and last, but never stored (its title is not pinned).
    for url in (p0, p0, o0, o1, o0, o1, o1):
        status(url)
    log = prefix / "access.log"
    wait_until(lambda: len(log.read_bytes().splitlines()) == 7)
    ingest_log(path=str(log), max_bytes=1 << 20)
    assert tasks.touch_edges() == 0  # pin mode: nothing to touch

    out = io.StringIO()
    call_command("cdn_edge_lists", out_dir=str(lists), pin_titles=1, stdout=out)
    assert out.getvalue().endswith("mode lru (switched: reload it), 1 file to touch\n")
    o1_key = OTHER + other_files[-1]
    assert EdgeMode.objects.get(edge__name="e1").touch_keys == [o1_key]
    before = children(process.pid)
    process.send_signal(signal.SIGHUP)
    wait_until(lambda: children(process.pid) and not children(process.pid) & before, timeout=10)

    asked = list(origin.requests)
    assert tasks.touch_edges() == 1
    row = EdgeMode.objects.get(edge__name="e1")
    assert (row.touches, row.touch_hits, row.touch_error) == (1, 0, "")
    assert origin.requests == asked  # a touch asks no origin
    # The touch was o1's first use under min_uses 2 (the reload's new zone rules): this GET
    # is its second, so it is stored, and the next hits. Untouched: MISS, MISS, HIT.
    assert [status(o1), status(o1)] == ["MISS", "HIT"]


def test_the_warmers_fetches_through_a_real_edge_are_not_kept_for_the_arms(mode_edge, origin):
    """The edge logs each request's User-Agent; the ingest counts a warming fetch in the
    minute's traffic but keeps only viewers' lookups for the arms and read counts."""
    base, prefix, _, _ = mode_edge
    files = write_asset(origin.root, PINNED, segments=1)
    url = signed_url(base, PINNED, files[-1], expires_at=timezone.now() + timedelta(hours=1))
    assert warming.fetch(url, head=True).status == 200  # a fill
    status(url)  # a viewer
    log = prefix / "access.log"
    wait_until(lambda: len(log.read_bytes().splitlines()) == 2)
    assert ingest_log(path=str(log), max_bytes=1 << 20).lines == 2
    assert EdgeTrafficMinute.objects.filter(edge="e1").aggregate(n=Sum("lookups"))["n"] == 2
    (kept,) = EdgeLookups.objects.filter(edge__name="e1")
    assert kept.lookups == 1


def test_the_mode_file_renders_one_zone_and_is_created_in_pin_mode(tmp_path):
    conf = tmp_path / "nginx.conf"
    call_command(
        "cdn_nginx_config",
        name="e1",
        origin="http://127.0.0.1:1/media/",
        prefix=str(tmp_path),
        admission_list=str(tmp_path / "l" / "a.map"),
        mode_file=str(tmp_path / "l" / "e1.mode.conf"),
        output=str(conf),
        stdout=io.StringIO(),
    )
    text = conf.read_text()
    assert (tmp_path / "l" / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"
    assert text.count("proxy_cache_path ") == 1 and "_pin" not in text
    assert f"include {tmp_path}/l/e1.mode.conf;" in text
    assert "proxy_cache_min_uses" not in text
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "lists", [{}, {"admission_list": "a.map", "pin_list": "p.map"}], ids=["none", "pin"]
)
def test_the_mode_file_needs_an_admission_list_and_no_pin_zone(tmp_path, lists):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="per-edge mode runs one zone"):
        call_command(
            "cdn_nginx_config",
            name="e1",
            origin="http://127.0.0.1:1/media/",
            prefix=str(tmp_path),
            mode_file=str(tmp_path / "m.conf"),
            stdout=io.StringIO(),
            **{k: str(tmp_path / v) for k, v in lists.items()},
        )
    assert not (tmp_path / "m.conf").exists()


def test_touches_render_under_the_mode_file_and_bad_values_are_refused(tmp_path):
    """`--touch-allow`: the touch location counts uses at the mode's min_uses, answers only the
    addresses given, and nginx takes the result; a value that is no address is refused before
    anything is written."""
    from django.core.management.base import CommandError

    conf = tmp_path / "nginx.conf"
    options = {
        "name": "e1",
        "origin": "http://127.0.0.1:1/media/",
        "prefix": str(tmp_path),
        "admission_list": str(tmp_path / "l" / "a.map"),
        "mode_file": str(tmp_path / "l" / "e1.mode.conf"),
        "output": str(conf),
        "stdout": io.StringIO(),
    }
    call_command("cdn_nginx_config", touch_allow=["127.0.0.1", "10.1.2.3/8"], **options)
    text = conf.read_text()
    touch = text[text.index('location ~ "^/_touch/') :]
    touch = touch[: touch.index("}")]
    assert "allow 127.0.0.1/32;" in touch and "allow 10.0.0.0/8;" in touch
    assert touch.index("deny all;") > touch.index("allow 10.0.0.0/8;")
    assert f"include {tmp_path}/l/e1.mode.conf;" in touch
    assert "proxy_no_cache 1;" in touch and "access_log off;" in touch
    assert "server 127.0.0.1:9 down;" in text  # the touches' upstream connects nowhere
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr

    conf.unlink()
    with pytest.raises(CommandError, match="Not an address or CIDR range: 'edges'"):
        call_command("cdn_nginx_config", touch_allow=["edges"], **options)
    assert not conf.exists()
    # Touches move the queue: the whole internet may not send them.
    for everyone in ("0.0.0.0/0", "::/0", "8.0.0.0/8"):
        with pytest.raises(CommandError, match="wider than .* and not private"):
            call_command("cdn_nginx_config", touch_allow=[everyone], **options)
        assert not conf.exists()


def test_an_edge_answering_touches_starts_again_after_being_killed(tmp_path):
    """An edge killed outright (SIGKILL: an OOM kill, a lost host) leaves nothing behind that
    stops it starting again, touches included (a first version's Unix-socket upstream left its
    socket file, and the next start failed on it: "Address already in use")."""
    port = free_port()
    call_command(
        "cdn_nginx_config",
        name="e1",
        listen=f"127.0.0.1:{port}",
        origin="http://127.0.0.1:1/media/",
        prefix=str(tmp_path),
        user="root" if os.geteuid() == 0 else None,
        touch_allow=["127.0.0.1"],
        output=str(tmp_path / "nginx.conf"),
        stdout=io.StringIO(),
    )
    touch = f"http://127.0.0.1:{port}/_touch/hls/a1/v1/720p/seg0.ts"
    for start in ("first", "after SIGKILL"):
        process = _start_nginx(tmp_path, tmp_path / "nginx.conf", port)
        try:
            try:
                fetched = warming.fetch(touch, head=True)
            except OSError as exc:
                process.wait(timeout=10)
                pytest.fail(f"{start} start: {exc}; {process.stderr.read().decode()}")
            assert (fetched.status, fetched.cache_status) == (204, "MISS"), start
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
