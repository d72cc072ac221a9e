"""Admission and placement: the lists the edges' nginx reads, decided from earlier requests."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.admission import (
    ADMISSION_LINE,
    MODE_LINE,
    PIN_LINE,
    DecayingSketch,
    EdgePolicy,
    decide,
    place,
    site_lists,
    write_admission_list,
    write_mode_file,
    write_pin_list,
)
from cdn.routed_trace import synthetic_snapshot
from cdn.snapshot import EdgeInfo, stable_hash
from cdn.steering import Steerer

KEYS = st.lists(
    st.text("abcdefgh0123", min_size=1, max_size=6).map(lambda s: f"hls/{s}/v1/"),
    unique=True,
    max_size=60,
)
EDGE_NAMES = st.lists(
    st.text("xyz123", min_size=1, max_size=5), unique=True, min_size=1, max_size=6
)


def edge_infos(names: list[str]) -> list[EdgeInfo]:
    return [
        EdgeInfo(id=i + 1, name=n, site_id=1, base_url=f"http://{n}/", salt=stable_hash(n))
        for i, n in enumerate(names)
    ]


@settings(max_examples=60, deadline=None)
@given(keys=KEYS, names=EDGE_NAMES, hot=st.integers(0, 10))
def test_a_title_is_held_by_one_edge_of_a_site_unless_replicated_on_purpose(keys, names, hot):
    lists = place(keys, edge_infos(names), hot=hot)
    holders = {k: [e for e, held in lists.items() if k in held] for k in keys}
    for rank, key in enumerate(keys):
        expected = min(2, len(names)) if rank < hot else 1
        assert len(holders[key]) == expected


@settings(max_examples=60, deadline=None)
@given(keys=KEYS, names=EDGE_NAMES.filter(lambda n: len(n) >= 2), data=st.data())
def test_removing_an_edge_moves_only_its_keys(keys, names, data):
    gone = data.draw(st.sampled_from(names))
    edges = edge_infos(names)
    before = place(keys, edges)
    after = place(keys, [e for e in edges if e.name != gone])
    for name in after:
        assert set(before[name]) <= set(after[name])  # nobody loses a key
        assert set(after[name]) - set(before[name]) <= set(before[gone])  # only gone's move


@settings(max_examples=60, deadline=None)
@given(keys=KEYS, names=EDGE_NAMES, hot=st.integers(0, 10))
def test_placement_keeps_the_ranked_order_on_every_edge(keys, names, hot):
    for held in place(keys, edge_infos(names), hot=hot).values():
        assert held == [k for k in keys if k in held]


def test_site_lists_give_each_edge_its_pinned_and_admitted_titles_hottest_first():
    snapshot = synthetic_snapshot(regions=1, edges_per_site=2)
    (edges,) = [s.edges for s in snapshot.sites.values()]
    keys = [f"hls/t{i}/v1/" for i in range(12)]
    # t0 played 12 times, t1 11, ... t11 once: the pin score ranks them in that order.
    plays = [(float(n), "r0", key) for i, key in enumerate(keys) for n in range(12 - i)]
    policy = EdgePolicy(global_weight=0.0, admit_score=1.0, half_life_hours=1e6)
    lists = site_lists(plays, now=50.0, edges_by_site={"r0": edges}, policy=policy, pin_titles=6)
    steerer = Steerer(snapshot, origin_url="o")
    owner = {k: steerer.choose(1, k)[0].name for k in keys}
    assert set(owner.values()) == {e.name for e in edges}  # keys on both edges
    for e in edges:
        # The hottest tenth (one title, t0) is on both edges on purpose.
        mine = [k for k in keys if owner[k] == e.name or k == keys[0]]
        assert lists[e.name] == (mine, mine)


def test_placement_is_where_steering_sends_viewers():
    snapshot = synthetic_snapshot(regions=1, edges_per_site=3)
    steerer = Steerer(snapshot, origin_url="o")
    keys = [f"hls/t{i}/v1/" for i in range(40)]
    lists = place(keys, snapshot.sites[1].edges)
    for key in keys:
        (edge,) = [name for name, held in lists.items() if key in held]
        assert steerer.choose(1, key)[0].name == edge


def test_the_sketch_counts_and_halves_with_its_half_life():
    sketch = DecayingSketch(half_life=100.0)
    h = np.array([stable_hash("hls/a/v1/")] * 3 + [stable_hash("hls/b/v1/")], dtype=np.uint64)
    sketch.add(h, np.array([0.0, 0.0, 100.0, 100.0]))
    a, b, c = sketch.estimate(
        np.array([h[0], h[3], stable_hash("hls/c/v1/")], dtype=np.uint64), 200.0
    )
    # a: two plays two half-lives ago and one a half-life ago; b: one a half-life ago.
    assert (a, b, c) == (1.0, 0.5, 0.0)


def test_decide_pins_the_best_and_admits_from_the_threshold():
    keys = np.arange(5)
    lists = decide(
        keys=keys,
        local=np.array([5.0, 0.0, 2.0, 0.5, 0.0]),
        glob=np.array([0.0, 0.0, 0.0, 0.0, 19.0]),
        edges=19,
        policy=EdgePolicy(global_weight=1.0, admit_score=1.0),
        pin_titles=2,
    )
    assert (lists.pinned, lists.admitted) == ({0, 2}, {0, 2, 4})


def test_site_lists_use_only_plays_before_now_and_place_them_on_the_sites_edges():
    snapshot = synthetic_snapshot(regions=2, edges_per_site=2)
    by_site = {s.name: s.edges for s in snapshot.sites.values()}
    plays = [(10.0, "r0", "hls/a/v1/"), (11.0, "r0", "hls/a/v1/"), (12.0, "r1", "hls/b/v1/")]
    future = [(99.0, "r0", "hls/z/v1/")] * 5
    policy = EdgePolicy(global_weight=0.0, admit_score=1.0, half_life_hours=1e6)
    lists = site_lists(plays + future, now=50.0, edges_by_site=by_site, policy=policy, pin_titles=1)
    held = {name: sorted(set(a) | set(p)) for name, (a, p) in lists.items()}
    steerer = Steerer(snapshot, origin_url="o")
    a_edge = steerer.choose(1, "hls/a/v1/")[0].name
    b_edge = steerer.choose(2, "hls/b/v1/")[0].name
    assert held == {
        e.name: (["hls/a/v1/"] if e.name == a_edge else [])
        + (["hls/b/v1/"] if e.name == b_edge else [])
        for edges in by_site.values()
        for e in edges
    }


def test_lists_are_nginx_map_lines(tmp_path):
    path = tmp_path / "e1.admission.map"
    assert write_admission_list(str(path), ["hls/b/v1/", "hls/a/v1/", "hls/a/v1/"]) == 2
    assert path.read_text() == "hls/a/v1/ 0;\nhls/b/v1/ 0;\n"
    pins = tmp_path / "e1.pin.map"
    assert write_pin_list(str(pins), ["hls/a/v1/"], zone="e1") == 1
    assert pins.read_text() == "hls/a/v1/ e1_pin;\n"


def test_the_line_patterns_the_edges_agent_checks_take_every_written_line_and_nothing_else(
    tmp_path,
):
    """The patterns are the agent's only check before nginx includes a file: each written line
    matches its own file's pattern, and lines that would change the configuration do not."""
    import re

    longest = "hls/" + "a" * 290 + "/v1-2.x_y/"
    written = {
        ADMISSION_LINE: (write_admission_list, {}, ["hls/a/v1/", longest]),
        PIN_LINE: (write_pin_list, {"zone": "edge_1"}, ["hls/a/v1/", longest]),
    }
    for pattern, (write, extra, keys) in written.items():
        path = tmp_path / "list"
        write(str(path), keys, **extra)
        assert all(re.fullmatch(pattern, line) for line in path.read_text().splitlines())
    for min_uses in (1, 2, 1000):
        write_mode_file(str(tmp_path / "mode"), min_uses=min_uses)
        assert re.fullmatch(MODE_LINE, (tmp_path / "mode").read_text().rstrip("\n"))
    hostile = [
        "hls/a/v1/ 0; } server { listen 81; }",
        "hls/a/v1/ 0",
        "include /etc/passwd;",
        "hls/../v1/ 0;x",
        "hls/a/v1/ 1;",
        "",
    ]
    for line in hostile:
        assert not any(re.fullmatch(p, line) for p in (ADMISSION_LINE, PIN_LINE, MODE_LINE))
    assert not re.fullmatch(MODE_LINE, "proxy_cache_min_uses 1; include /etc/passwd;")


@pytest.mark.django_db
def test_edge_lists_command_writes_each_edges_map_files_from_recorded_plays(tmp_path):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from cdn.models import SteeringDecision
    from cdn.steering import rendezvous_rank
    from tests.cdn.factories import EdgeFactory, SiteFactory

    site = SiteFactory(name="paris")
    e1, e2 = EdgeFactory(site=site, name="p1"), EdgeFactory(site=site, name="p2")
    EdgeFactory(site=site, name="p3", admin_state="drain")  # not online: no lists
    now = timezone.now()
    for minutes, key in [(5, "hls/a/v1/"), (6, "hls/a/v1/"), (7, "hls/b/v1/")]:
        SteeringDecision.objects.create(
            created_at=now - timedelta(minutes=minutes),
            client_ip="10.0.0.1",
            content_key=key,
            located_by="coverage_zone",
            site_name="paris",
        )
    out = io.StringIO()
    call_command("cdn_edge_lists", out_dir=str(tmp_path), pin_titles=0, stdout=out)
    infos = {
        e.name: EdgeInfo(
            id=e.id, name=e.name, site_id=site.id, base_url=e.base_url, salt=stable_hash(e.name)
        )
        for e in (e1, e2)
    }
    owner = {
        k: rendezvous_rank(stable_hash(k), list(infos.values()))[0].name
        for k in ("hls/a/v1/", "hls/b/v1/")
    }
    for name in ("p1", "p2"):
        mine = sorted(k for k, edge in owner.items() if edge == name)
        assert (tmp_path / f"{name}.admission.map").read_text() == "".join(
            f"{k} 0;\n" for k in mine
        )
        assert (tmp_path / f"{name}.pin.map").read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "p1.admission.map",
        "p1.pin.map",
        "p2.admission.map",
        "p2.pin.map",
    ]
    assert out.getvalue() == "".join(
        f"{n}: {sum(1 for e in owner.values() if e == n)} admitted, 0 pinned\n"
        for n in ("p1", "p2")
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lists", "given", "expected"),
    [
        (False, None, "proxy_cache_min_uses 1;"),  # a plain edge: stock proxy_cache
        (True, None, f"proxy_cache_min_uses {EdgePolicy.min_uses};"),  # the measured policy
        (True, 3, "proxy_cache_min_uses 3;"),
    ],
)
def test_an_edge_under_the_lists_counts_uses_as_the_policy_does(tmp_path, lists, given, expected):
    from django.core.management import call_command

    extra = {}
    if lists:
        extra = {"admission_list": str(tmp_path / "a.map"), "pin_list": str(tmp_path / "p.map")}
    if given is not None:
        extra["min_uses"] = given
    out = tmp_path / "nginx.conf"
    call_command(
        "cdn_nginx_config",
        name="e1",
        prefix=str(tmp_path),
        origin="http://127.0.0.1:9/media/",
        output=str(out),
        stdout=io.StringIO(),
        **extra,
    )
    text = out.read_text()
    lines = [line.strip() for line in text.splitlines() if "proxy_cache_min_uses" in line]
    # The LRU zone's count, and the pinned titles' location storing at the first request.
    assert lines == ([expected, "proxy_cache_min_uses 1;"] if lists else [expected])
    assert ("location @pinned" in text) is lists
