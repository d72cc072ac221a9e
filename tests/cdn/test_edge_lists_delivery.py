"""The edges' lists from beat to nginx, on real nginx (Debian's package): the hourly task writes
every edge's lists, the origin serves them to the edges' networks only, and the edge's agent
(`cdn_nginx_config --lists-url`'s pull-lists.sh) fetches them, refuses what is not a list,
reloads nginx, and puts the old files back when nginx refuses the new ones."""

from __future__ import annotations

import io
import signal
import subprocess
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cdn import tasks
from cdn.signing import signed_url
from tests.cdn.conftest import stop_nginx, wait_until, write_asset
from tests.cdn.factories import EdgeFactory, PlayFactory, SiteFactory
from tests.cdn.test_nginx_edge_mode import children, start_mode_edge, status

pytestmark = [pytest.mark.slow, pytest.mark.needs_nginx, pytest.mark.django_db]
TITLE = "hls/71a1/v1/"


def pull(prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(prefix / "pull-lists.sh")], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def chain(tmp_path, nginx_origin, settings):
    """Beat's lists directory served by a real origin to 127.0.0.1, and edge "e1" of site
    "paris" in the per-edge mode, its lists in its own directory, with its agent."""
    settings.CDN_EDGE_LISTS_DIR = str(tmp_path / "origin-lists")
    settings.CDN_EDGE_MODE_EVERY = 3600
    settings.CDN_EDGE_MODE_FILES = 2
    media = tmp_path / "media"
    media.mkdir()
    origin = nginx_origin(
        media, fill_from=("127.0.0.1/32",), lists_dir=Path(settings.CDN_EDGE_LISTS_DIR)
    )
    settings.CDN_ORIGIN_URL = origin.url
    EdgeFactory(site=SiteFactory(name="paris", is_global_default=True), name="e1")

    prefix = tmp_path / "nginx-e1"
    lists = tmp_path / "edge-lists"
    out = io.StringIO()
    base_url, process = start_mode_edge(
        prefix, lists, origin_url=origin.url, lists_url=f"{origin.url}edge-lists/", stdout=out
    )
    assert out.getvalue() == f"wrote {prefix}/pull-lists.sh\nwrote {prefix}/nginx.conf\n"
    yield origin, base_url, prefix, lists, process
    stop_nginx(process)


def test_beats_lists_reach_the_edge_through_its_agent(chain):
    origin, base, prefix, lists, process = chain
    files = write_asset(origin.media_root, TITLE, segments=1)
    url = signed_url(base, TITLE, files[-1], expires_at=timezone.now() + timedelta(hours=1))
    # No list yet: the edge stores nothing.
    assert (lists / "e1.admission.map").read_text() == ""
    assert [status(url), status(url)] == ["MISS", "MISS"]
    # Nothing decided yet: the origin has no list for the edge, and the edge keeps its own.
    result = pull(prefix)
    assert (result.returncode, result.stderr) == (2, "e1.admission.map: the origin answered 404\n")

    now = timezone.now()
    for minutes in (5, 6, 7):
        PlayFactory(
            created_at=now - timedelta(minutes=minutes), content_key=TITLE, site_name="paris"
        )
    assert tasks.decide_edge_lists() == 1
    before = children(process.pid)
    result = pull(prefix)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "reloaded: e1.admission.map e1.mode.conf\n",
        "",
    )
    assert (lists / "e1.admission.map").read_text() == f"{TITLE} 0;\n"
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"  # pin mode
    # The reload: new workers, the old ones gone.
    wait_until(lambda: children(process.pid) and not children(process.pid) & before, timeout=10)
    # The pin mode's list: the title is stored at its first request now.
    assert [status(url), status(url)] == ["MISS", "HIT"]

    # The next run, nothing new: no reload.
    assert tasks.decide_edge_lists() == 1
    result = pull(prefix)
    assert (result.returncode, result.stdout) == (0, "unchanged\n")
    assert not list(prefix.glob(".lists-*"))  # the agent leaves nothing behind


def test_files_an_agent_put_in_place_but_died_before_reloading_are_reloaded_next_run(
    chain, settings
):
    """A run killed between putting the files in place and the reload: the next run compares
    with what nginx last took, not with the files in place, so it tests and reloads them."""
    origin, base, prefix, lists, process = chain
    files = write_asset(origin.media_root, TITLE, segments=1)
    url = signed_url(base, TITLE, files[-1], expires_at=timezone.now() + timedelta(hours=1))
    PlayFactory(
        created_at=timezone.now() - timedelta(minutes=5), content_key=TITLE, site_name="paris"
    )
    assert tasks.decide_edge_lists() == 1
    served = Path(settings.CDN_EDGE_LISTS_DIR)
    for name in ("e1.admission.map", "e1.mode.conf"):  # what the dead run had put in place
        (lists / name).write_text((served / name).read_text())
    assert [status(url), status(url)] == ["MISS", "MISS"]  # nginx still runs the old lists
    before = children(process.pid)
    result = pull(prefix)
    assert (result.returncode, result.stdout) == (0, "reloaded: e1.admission.map e1.mode.conf\n")
    wait_until(lambda: children(process.pid) and not children(process.pid) & before, timeout=10)
    assert [status(url), status(url)] == ["MISS", "HIT"]
    again = pull(prefix)
    assert (again.returncode, again.stdout) == (0, "unchanged\n")


def test_the_agent_refuses_what_is_not_a_list_and_keeps_the_edge_on_its_own(chain, settings):
    origin, base, prefix, lists, process = chain
    served = Path(settings.CDN_EDGE_LISTS_DIR)
    served.mkdir()
    good = f"{TITLE} 0;\n"
    (served / "e1.admission.map").write_text(good)
    (served / "e1.mode.conf").write_text("proxy_cache_min_uses 1;\ninclude /etc/passwd;\n")
    result = pull(prefix)
    assert (result.returncode, result.stderr) == (
        3,
        "e1.mode.conf: refused, a line is not an entry of this list\n",
    )
    (served / "e1.mode.conf").write_text("")
    assert pull(prefix).stderr == "e1.mode.conf: refused, not one line\n"
    (served / "e1.mode.conf").write_text("proxy_cache_min_uses 2;\n")
    (served / "e1.admission.map").write_text(good + 'hls/x/ 0; } server { listen 9; "\n')
    assert pull(prefix).returncode == 3
    # Nothing was put in place, and nginx was not reloaded.
    assert (lists / "e1.admission.map").read_text() == ""
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"
    assert process.poll() is None

    # Lines of the right shape that nginx still refuses (a key longer than its map's hash
    # bucket): put in place, tested, and the old files put back; nginx keeps running unchanged.
    (served / "e1.admission.map").write_text(good + "hls/" + "a" * 600 + "/v1/ 0;\n")
    result = pull(prefix)
    assert result.returncode == 4, result
    assert result.stderr.startswith("nginx refused the new lists, the old ones are back:\n")
    assert (lists / "e1.admission.map").read_text() == ""
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"
    assert process.poll() is None

    # Good lists, but no nginx to reload: the old files go back, so the next run tries again.
    (served / "e1.admission.map").write_text(good)
    process.send_signal(signal.SIGQUIT)
    process.wait(timeout=5)
    result = pull(prefix)
    assert result.returncode == 4, result
    assert result.stderr.startswith("nginx did not reload, the old lists are back:\n")
    assert (lists / "e1.admission.map").read_text() == ""
    assert (lists / "e1.mode.conf").read_text() == "proxy_cache_min_uses 1;\n"

    # The origin gone: the edge keeps what it has.
    origin.process.send_signal(signal.SIGQUIT)
    origin.process.wait(timeout=5)
    result = pull(prefix)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (
        2,
        "e1.admission.map: the origin did not answer",
    )
    assert (lists / "e1.admission.map").read_text() == ""


def test_the_origin_serves_the_lists_to_the_edges_networks_only(tmp_path, nginx_origin):
    served = tmp_path / "lists"
    served.mkdir()
    (served / "e1.admission.map").write_text(f"{TITLE} 0;\n")
    (served / ".list-abc").write_text("half written")
    (tmp_path / "secret.txt").write_text("not a list")
    media = tmp_path / "media"
    media.mkdir()
    mine = nginx_origin(media, fill_from=("127.0.0.1/32",), lists_dir=served)
    others = nginx_origin(media, fill_from=("10.0.0.0/8",), lists_dir=served)

    def fetch(url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    assert fetch(f"{mine.url}edge-lists/e1.admission.map") == (200, f"{TITLE} 0;\n")
    assert fetch(f"{others.url}edge-lists/e1.admission.map") == (403, "")
    for name in (".list-abc", "e1.admission", "..%2Fsecret.txt", "e1.mode.conf.bak"):
        assert fetch(f"{mine.url}edge-lists/{name}")[0] == 404, name


def test_the_lists_task_is_off_without_a_directory(settings, tmp_path):
    from cdn.models import EdgePinList

    EdgeFactory(site=SiteFactory(name="paris", is_global_default=True), name="e1")
    settings.CDN_EDGE_LISTS_DIR = ""
    assert tasks.decide_edge_lists() == 0
    assert not EdgePinList.objects.exists()  # nothing decided, nothing recorded
    settings.CDN_EDGE_LISTS_DIR = str(tmp_path / "lists")
    assert tasks.decide_edge_lists() == 1
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == [
        "e1.admission.map",
        "e1.pin.map",
    ]
    assert EdgePinList.objects.get(edge__name="e1").keys == []


def test_an_agent_needs_the_conf_it_reloads_and_lists_to_fetch(tmp_path):
    options = {
        "name": "e1",
        "origin": "http://127.0.0.1:1/media/",
        "prefix": str(tmp_path),
        "stdout": io.StringIO(),
    }
    with pytest.raises(CommandError, match="--lists-url needs --output"):
        call_command(
            "cdn_nginx_config",
            admission_list=str(tmp_path / "a.map"),
            lists_url="http://127.0.0.1:1/media/edge-lists/",
            **options,
        )
    conf = str(tmp_path / "nginx.conf")
    with pytest.raises(CommandError, match="reads no lists"):
        call_command(
            "cdn_nginx_config",
            lists_url="http://127.0.0.1:1/media/edge-lists/",
            output=conf,
            **options,
        )
    for bad in ("ftp://origin/lists/", "http://origin/lists", "http://origin/l'; rm -rf /;'/"):
        with pytest.raises(CommandError, match="lists URL"):
            call_command(
                "cdn_nginx_config",
                admission_list=str(tmp_path / "a.map"),
                lists_url=bad,
                output=conf,
                **options,
            )
    assert not (tmp_path / "pull-lists.sh").exists()


@pytest.mark.parametrize("lists", ["admission", "pin"])
def test_nginx_takes_a_catalogues_list_with_the_longest_content_keys(tmp_path, lists):
    """A content key may have 300 characters (media's content_key): nginx refuses a map key
    longer than its hash bucket at a reload, which would leave an edge on old lists for good."""
    from media.models import MediaAsset

    longest = MediaAsset._meta.get_field("content_key").max_length
    key = "hls/" + "a" * (longest - len("hls//v1/")) + "/v1/"
    assert len(key) == longest
    keys = [f"hls/{n:036d}/v1/" for n in range(20_000)] + [key]
    path = tmp_path / "l" / f"e1.{lists}.map"
    path.parent.mkdir()
    value = "0" if lists == "admission" else "e1_pin"
    path.write_text("".join(f"{k} {value};\n" for k in keys))
    conf = tmp_path / "nginx.conf"
    call_command(
        "cdn_nginx_config",
        name="e1",
        origin="http://127.0.0.1:1/media/",
        prefix=str(tmp_path),
        output=str(conf),
        stdout=io.StringIO(),
        **{f"{lists}_list": str(path)},
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "map_hash" not in result.stderr  # no "could not build optimal" warning either
