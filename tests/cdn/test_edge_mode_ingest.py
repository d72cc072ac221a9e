"""Real edges' per-edge mode in the database: the ingest keeps each logged lookup once, the
replay feeds it to the edge's arms once, and the mode is chosen by the simulator's rule."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cdn.edge_logs import ingest_log
from cdn.edge_mode import Arms, files_per_title
from cdn.models import EdgeLookups, EdgeMode, EdgeTrafficMinute
from cdn.services import (
    edge_mode_capacity,
    edge_mode_choose,
    edge_mode_pin_titles,
    edge_modes_replay,
)
from cdn.warming import WARMER_AGENT
from tests.cdn.factories import EdgeFactory

pytestmark = pytest.mark.django_db
TOKEN = "/t/0123abcdn/AAAAAAAAAAAAAAAAAAAAAA/1999999999/"
T0 = 1_800_000_000.0
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def mode_on(settings):
    settings.CDN_EDGE_MODE_EVERY = 3600
    settings.CDN_EDGE_MODE_FILES = 2


def line(edge: str, uri: str, at: float, *, cache: str = "MISS", size: int = 100) -> str:
    return json.dumps(
        {
            "msec": at,
            "edge": edge,
            "uri": uri,
            "status": 200,
            "cache": cache,
            "bytes": size,
            "request_time": 0.001,
            "upstream_time": "0.001",
            "upstream_bytes": str(size),
        }
    )


def lookups(edge: str, keys: list[str], start: float) -> list[str]:
    return [line(edge, TOKEN + key, start + i) for i, key in enumerate(keys)]


def replay_all() -> int:
    """What cdn_edge_lists does before it chooses: every kept lookup through its edge's arms."""
    from django.db import transaction

    with transaction.atomic():
        rows = list(EdgeMode.objects.select_for_update().select_related("edge").order_by("pk"))
        return edge_modes_replay(rows, now=NOW)


def pending(name: str) -> int:
    return sum(EdgeLookups.objects.filter(edge__name=name).values_list("lookups", flat=True))


def title(key: str) -> str:
    return "/".join(key.split("/")[:3]) + "/"


def expected(keys: list[str], *, pinned: set[str], played: set[str]) -> list[int]:
    arms = Arms(2, 2, inactive=365 * 86_400.0, valid=365 * 86_400.0)
    arms.feed(
        keys,
        [T0 + i for i in range(len(keys))],
        [title(k) for k in keys],
        pinned=pinned,
        played=played,
    )
    return arms.hits


A, B, C = "hls/a/v1/", "hls/b/v1/", "hls/c/v1/"
KEYS = [A + "s0.ts", B + "s0.ts", A + "s0.ts", C + "s0.ts", B + "s0.ts", A + "s0.ts", B + "s0.ts"]


def test_each_logged_lookup_is_kept_once_and_replayed_once_even_when_run_twice(tmp_path: Path):
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={"e1": [A]}, played=[A, B], now=NOW)
    log = tmp_path / "access.log"
    log.write_text("\n".join(lookups("e1", KEYS[:4], T0)) + "\n")

    ingest_log(path=str(log), max_bytes=1 << 20)
    ingest_log(path=str(log), max_bytes=1 << 20)  # nothing new: nothing kept again
    assert pending("e1") == 4 and EdgeLookups.objects.count() == 1
    assert EdgeMode.objects.get(edge__name="e1").lookups == 0  # the arms are not loaded yet
    assert replay_all() == 4
    assert replay_all() == 0 and pending("e1") == 0  # replayed once, then dropped
    row = EdgeMode.objects.get(edge__name="e1")
    assert (row.lookups, [row.pin_hits, row.lru_hits]) == (
        4,
        expected(KEYS[:4], pinned={A}, played={A, B}),
    )
    with log.open("a") as fh:
        fh.write("\n".join(lookups("e1", KEYS[4:], T0 + 4)) + "\n")
    ingest_log(path=str(log), max_bytes=1 << 20)
    ingest_log(path=str(log), max_bytes=1 << 20)
    assert pending("e1") == 3
    replay_all()
    row.refresh_from_db()
    # The saved arms went on where they were: as one replay of the seven lookups.
    assert (row.lookups, row.lookup_bytes, [row.pin_hits, row.lru_hits]) == (
        7,
        700,
        expected(KEYS, pinned={A}, played={A, B}),
    )
    assert expected(KEYS, pinned={A}, played={A, B}) == [2, 2]


def test_hostile_and_malformed_lines_are_skipped_or_not_lookups(tmp_path: Path):
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={"e1": []}, played=[A], now=NOW)
    log = tmp_path / "access.log"
    good = lookups("e1", [A + "s0.ts", A + "s0.ts"], T0)
    bad_records = [
        "not json",
        "[]",
        '{"msec": "nan", "edge": "e1", "status": 200, "bytes": 1, "request_time": 0}',
        json.dumps({"msec": T0, "edge": "e1", "status": 200, "bytes": -1, "request_time": 0}),
    ]
    not_lookups = [
        line("e1", TOKEN + A + "s0.ts", T0, cache="-"),  # no cache asked (a 403, a 404)
        line("e1", TOKEN + A + "s0.ts", T0, cache=""),
        line("e1", "/x/" + A + "s0.ts", T0),  # not a signed media URI
        line("e1", TOKEN + "hls/a/v1/../../etc/passwd", T0),
        line("e1", TOKEN + A + "s0.ts\n" + TOKEN + A + "s1.ts", T0),
        line("e1", TOKEN + A + 's0.ts"', T0),
        line("e1", "/cdn-health", T0),
        line("nobody", TOKEN + A + "s0.ts", T0),  # no such edge configured
    ]
    log.write_text("\n".join([good[0], *bad_records, *not_lookups, good[1]]) + "\n")

    result = ingest_log(path=str(log), max_bytes=1 << 20)
    assert (result.lines, result.skipped) == (14, 4)
    assert list(EdgeLookups.objects.values_list("edge__name", "lookups")) == [("e1", 2)]
    replay_all()
    row = EdgeMode.objects.get(edge__name="e1")
    # Only the two well-formed lookups reached the arms: A stored at its 2nd use, no hit yet.
    assert (row.lookups, row.lookup_bytes, [row.pin_hits, row.lru_hits]) == (2, 200, [0, 0])
    assert EdgeMode.objects.count() == 1


def test_the_warmers_fills_are_traffic_but_not_lookups_for_the_arms(tmp_path: Path):
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={"e1": [A]}, played=[A, B], now=NOW)
    log = tmp_path / "access.log"
    fill = json.loads(line("e1", TOKEN + KEYS[0], T0))
    fill["agent"] = WARMER_AGENT
    viewer = json.loads(line("e1", TOKEN + KEYS[1], T0 + 1))
    viewer["agent"] = "Mozilla/5.0"
    log.write_text(json.dumps(fill) + "\n" + json.dumps(viewer) + "\n")
    assert ingest_log(path=str(log), max_bytes=1 << 20).lines == 2
    assert EdgeTrafficMinute.objects.get(edge="e1").lookups == 2
    assert pending("e1") == 1  # the viewer's alone
    replay_all()
    assert EdgeMode.objects.get(edge__name="e1").lookups == 1


def test_with_the_mode_off_the_ingest_keeps_no_arms(tmp_path: Path, settings):
    settings.CDN_EDGE_MODE_EVERY = 0
    EdgeFactory(name="e1")
    log = tmp_path / "access.log"
    log.write_text("\n".join(lookups("e1", KEYS, T0)) + "\n")
    assert ingest_log(path=str(log), max_bytes=1 << 20).lines == 7
    assert EdgeMode.objects.count() == 0
    assert EdgeLookups.objects.count() == 0


def set_arms(name: str, *, lookups: int, pin: int, lru: int) -> None:
    EdgeMode.objects.filter(edge__name=name).update(
        lookups=lookups, pin_hits=pin, lru_hits=lru, capacity=10
    )


def test_pin_stays_until_the_arms_have_seen_mode_lookups_cache_sizes(settings):
    EdgeFactory(name="e1")
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=NOW) == {"e1": ("pin", False)}
    set_arms("e1", lookups=19, pin=0, lru=19)  # 2 x 10 files: not yet
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=NOW) == {"e1": ("pin", False)}
    assert EdgeMode.objects.get().chosen_at is None
    set_arms("e1", lookups=20, pin=5, lru=6)
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=NOW) == {"e1": ("lru", True)}
    assert EdgeMode.objects.get().chosen_at == NOW


def test_the_mode_is_chosen_every_mode_every_seconds_and_back_to_pin_by_the_margin(settings):
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={}, played=[], now=NOW)
    set_arms("e1", lookups=100, pin=5, lru=6)
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=NOW)["e1"] == ("lru", True)
    set_arms("e1", lookups=200, pin=9, lru=6)
    later = NOW + timedelta(seconds=3599)
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=later)["e1"] == ("lru", False)
    later = NOW + timedelta(seconds=3600)
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=later)["e1"] == ("pin", True)
    # From pin, LRU needs only to match it (margin 1): pinning must do strictly better.
    set_arms("e1", lookups=300, pin=9, lru=9)
    later = NOW + timedelta(seconds=7200)
    assert edge_mode_choose(names=["e1"], pinned={}, played=[], now=later)["e1"] == ("lru", True)


def test_the_lists_in_force_are_recorded_per_edge():
    EdgeFactory(name="e1")
    EdgeFactory(name="e2")
    edge_mode_choose(names=["e1", "e2"], pinned={"e1": [B, A]}, played=[C, A, B], now=NOW)
    rows = {m.edge.name: (m.pinned, m.played) for m in EdgeMode.objects.select_related("edge")}
    assert rows == {"e1": ([A, B], [A, B, C]), "e2": ([], [A, B, C])}


def test_the_arms_size_is_the_cache_over_the_mean_lookup(settings):
    settings.CDN_EDGE_MODE_FILES = 0
    assert edge_mode_capacity(cache_bytes=10_000, lookups=0, lookup_bytes=0) == 0
    assert edge_mode_capacity(cache_bytes=10_000, lookups=4, lookup_bytes=1_000) == 40
    assert edge_mode_capacity(cache_bytes=10, lookups=1, lookup_bytes=1_000) == 1
    settings.CDN_EDGE_MODE_FILES = 7
    assert edge_mode_capacity(cache_bytes=10_000, lookups=4, lookup_bytes=1_000) == 7


def _fill_arms(tmp_path: Path, titles: list[str], files: int) -> None:
    """Log `files` files of each title looked up on e1 (played: the LRU arm keeps them all)."""
    edge_mode_choose(names=["e1"], pinned={"e1": []}, played=titles, now=NOW)
    keys = [t + f"s{i}.ts" for t in titles for i in range(files)]
    log = tmp_path / "access.log"
    log.write_text("\n".join(lookups("e1", keys, T0)) + "\n")
    ingest_log(path=str(log), max_bytes=1 << 20)
    replay_all()


def test_an_edge_in_the_mode_pins_as_many_titles_as_its_cache_holds(tmp_path: Path, settings):
    settings.CDN_EDGE_MODE_FILES = 12
    EdgeFactory(name="e1")
    EdgeFactory(name="e2")  # no lookups yet: no arms, so the command's --pin-titles applies
    _fill_arms(tmp_path, [A, B, C], files=3)
    assert files_per_title(load_arms("e1").lru) == 3.0
    assert EdgeMode.objects.get(edge__name="e1").files_per_title == 3.0  # recorded at replay
    assert edge_mode_pin_titles(["e1", "e2"]) == {"e1": 4}  # 12 files, 3 a title
    settings.CDN_EDGE_MODE_EVERY = 0
    assert edge_mode_pin_titles(["e1"]) == {}


def test_cdn_edge_lists_sizes_a_mode_edges_pin_list_from_its_arms(tmp_path: Path, settings):
    from django.core.management import call_command

    from cdn.models import SteeringDecision
    from tests.cdn.factories import SiteFactory

    settings.CDN_EDGE_MODE_FILES = 12
    site = SiteFactory(name="paris", is_global_default=True)
    EdgeFactory(site=site, name="e1")
    now = datetime.now(UTC)
    titles = [f"hls/t{i}/v1/" for i in range(8)]
    for i, key in enumerate(titles):
        SteeringDecision.objects.create(
            created_at=now - timedelta(minutes=10 + i),
            client_ip="127.0.0.1",
            content_key=key,
            located_by="global_default",
            site_name="paris",
        )
    _fill_arms(tmp_path, titles[:3], files=3)  # 3 files a title: 12 files hold 4 titles
    out = tmp_path / "lists"
    call_command("cdn_edge_lists", out_dir=str(out), pin_titles=1, stdout=open(os.devnull, "w"))  # noqa: SIM115
    pinned = [ln for ln in (out / "e1.pin.map").read_text().splitlines() if ln.strip()]
    assert len(pinned) == 4
    settings.CDN_EDGE_MODE_EVERY = 0  # mode off: --pin-titles again
    call_command("cdn_edge_lists", out_dir=str(out), pin_titles=1, stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert len([ln for ln in (out / "e1.pin.map").read_text().splitlines() if ln.strip()]) == 1


def load_arms(name: str) -> Arms:
    row = EdgeMode.objects.get(edge__name=name)
    return Arms.loads(bytes(row.arms), min_uses=2, inactive=365 * 86_400.0, valid=365 * 86_400.0)


def test_kept_lookups_never_replayed_are_pruned_after_two_days():
    from django.utils import timezone

    from cdn.edge_logs import traffic_prune

    edge = EdgeFactory(name="e1")
    now = timezone.now()
    for age in (timedelta(days=3), timedelta(hours=47)):
        EdgeLookups.objects.create(edge=edge, created_at=now - age, lookups=1, data=b"")
    assert traffic_prune(before=now - timedelta(days=35)) == 1
    assert [r.created_at for r in EdgeLookups.objects.all()] == [now - timedelta(hours=47)]
