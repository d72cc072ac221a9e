"""The simulator's cache models against hand-checked sequences, and the commands end to end."""

from __future__ import annotations

import io
import ipaddress
from functools import partial

import pytest
from django.core.management import CommandError, call_command

from cdn.admission import EdgePolicy
from cdn.caches import LRU, S3FIFO, Belady
from cdn.routed_trace import CHUNK_BITS, load_balance, route, synthetic_snapshot
from cdn.simulator import simulate
from cdn.snapshot import EdgeHealth
from cdn.steering import Steerer
from cdn.stream_replays import next_uses
from cdn.traces import generate_trace, read_trace, write_trace

SEQ = ["a", "b", "c", "a", "d", "a", "b", "e", "a", "b", "c", "d"]


def run(cache, seq):
    return [cache.access(x, i) for i, x in enumerate(seq)]


def test_lru_on_a_known_sequence():
    assert sum(run(LRU(3), SEQ)) == 4


def test_belady_on_a_known_sequence_is_optimal():
    ids: dict[str, int] = {}
    hits = run(Belady(3, next_uses([ids.setdefault(x, len(ids)) for x in SEQ])), SEQ)
    assert sum(hits) == 6


def test_s3fifo_keeps_a_reused_object_through_a_scan():
    cache = S3FIFO(10)
    seq = ["hot", "hot"] + [f"scan{i}" for i in range(30)] + ["hot"]
    assert run(cache, seq)[-1] is True
    lru = LRU(10)
    assert run(lru, seq)[-1] is False


def test_trace_round_trips_through_csv(tmp_path):
    trace = generate_trace(requests=300, titles=50, regions=2, days=2, seed=3)
    path = tmp_path / "t.csv"
    assert write_trace(str(path), trace) == 300
    again = read_trace(str(path))
    assert [(r.client, r.key, r.nbytes) for r in again] == [
        (r.client, r.key, r.nbytes) for r in trace
    ]
    assert again[0].ts <= again[-1].ts


def test_policies_rank_belady_s3fifo_lru_and_warming_is_reported():
    trace = generate_trace(requests=3000, titles=400, regions=2, days=3, seed=5)
    steerer = Steerer(synthetic_snapshot(regions=2, edges_per_site=2), origin_url="o")
    routed = route(trace, steerer, chunk_bytes=100_000_000)
    assert routed.located == {"coverage_zone": 3000}
    results = {(r.policy, r.warming): r for r in simulate(routed, steerer, fraction=0.05)}
    assert set(results) == {
        ("lru", False),
        ("lru", True),
        ("s3fifo", False),
        ("s3fifo", True),
        ("belady", False),
    }
    belady = results[("belady", False)].object_hit_ratio
    assert (
        belady
        >= results[("s3fifo", False)].object_hit_ratio
        >= results[("lru", False)].object_hit_ratio
    )
    balance = load_balance(routed)
    assert balance["worst_site"] >= balance["mean_site"] >= 1.0


def test_commands_generate_and_simulate(tmp_path):
    path = tmp_path / "trace.csv"
    out = io.StringIO()
    call_command("cdn_trace", out=str(path), requests=400, titles=60, days=2, stdout=out)
    assert out.getvalue() == f"wrote 400 sessions to {path}\n"
    out = io.StringIO()
    call_command("cdn_simulate", trace=str(path), sizes="5", stdout=out)
    text = out.getvalue()
    assert "cache = 5% of each edge's working set" in text
    assert "belady  no" in text and "s3fifo  yes" in text


def test_simulate_refuses_a_missing_trace(tmp_path):
    path = tmp_path / "none.csv"
    with pytest.raises(CommandError) as info:
        call_command("cdn_simulate", trace=str(path))
    assert str(info.value) == (
        f"Cannot replay the trace: {path}: cannot open: No such file or directory"
    )


@pytest.mark.django_db
def test_nginx_config_command_refuses_a_bad_origin(tmp_path):
    with pytest.raises(CommandError, match="absolute http://"):
        call_command("cdn_nginx_config", name="e1", prefix=str(tmp_path), origin="/media/")


@pytest.mark.parametrize(("where", "evicted"), [("head", "w"), ("tail", "a")])
def test_s3fifo_warmed_chunks_go_to_the_head_or_tail_of_main_with_no_credit(where, evicted):
    cache = S3FIFO(10)  # small queue 1, main 9
    for obj in "abcdefghi":
        cache.insert(obj, main=True)
    cache.insert("w", warmed=where)
    assert cache.freq["w"] == 0
    cache.access("new")  # full: main gives up its head
    assert [obj for obj in ["w", "a", "b"] if obj not in cache] == [evicted]


def test_s3fifo_resize_evicts_down_to_the_new_capacity():
    cache = S3FIFO(10)
    run(cache, [f"x{i}" for i in range(10)])
    cache.resize(4)
    assert (cache.capacity, len(cache), cache.small_cap) == (4, 4, 1)
    lru = LRU(5)
    run(lru, list("abcde"))
    lru.resize(2)
    assert list(lru.items) == ["d", "e"]


def test_stock_nginx_is_lru_and_the_edge_policy_replays_under_its_lists():
    trace = generate_trace(requests=1500, titles=120, regions=2, days=2, seed=5)
    steerer = Steerer(synthetic_snapshot(regions=2, edges_per_site=2), origin_url="o")
    routed = route(trace, steerer, chunk_bytes=100_000_000)
    results = {
        r.policy: r
        for r in simulate(
            routed, steerer, fraction=0.05, policies=("nginx", "lru", "edge"), warming=(False,)
        )
    }
    # No admission, no min_uses, nothing expiring: proxy_cache evicts exactly as LRU does.
    assert (results["nginx"].hits, results["nginx"].bytes_hit) == (
        results["lru"].hits,
        results["lru"].bytes_hit,
    )
    assert results["edge"].requests == results["lru"].requests
    assert results["edge"].hits != results["lru"].hits  # the lists change what is stored


def test_simulate_command_runs_the_edge_policy_and_refuses_unknown_policies(tmp_path):
    path = tmp_path / "trace.csv"
    write_trace(str(path), generate_trace(requests=300, titles=40, regions=2, days=1, seed=2))
    out = io.StringIO()
    call_command(
        "cdn_simulate", trace=str(path), sizes="10", policies="edge,nginx,belady", stdout=out
    )
    rows = [line.split()[:2] for line in out.getvalue().splitlines() if line and line[0] in "enb"]
    assert rows == [
        ["edge", "no"],
        ["edge", "yes"],
        ["nginx", "no"],
        ["nginx", "yes"],
        ["belady", "no"],
    ]
    with pytest.raises(CommandError, match="^--policies takes nginx, edge, lru"):
        call_command("cdn_simulate", trace=str(path), policies="lfu,belady", stdout=out)


def test_simulate_command_replays_the_edge_policy_the_edges_are_configured_with(tmp_path):
    path = tmp_path / "trace.csv"
    write_trace(str(path), generate_trace(requests=400, titles=40, regions=2, days=1, seed=5))

    def edge_cold(**opts):
        out = io.StringIO()
        call_command(
            "cdn_simulate", trace=str(path), sizes="10", policies="edge,belady", stdout=out, **opts
        )
        lines = out.getvalue().splitlines()
        (row,) = [line.split() for line in lines if line.split()[:2] == ["edge", "no"]]
        return row[2]

    default = edge_cold()
    assert default == edge_cold(min_uses=EdgePolicy.min_uses, pin_share=EdgePolicy.pin_share)
    assert edge_cold(min_uses=1) != default  # stored at the first request: other hits
    assert edge_cold(pin_share=0.0) != default
    for bad, message in (
        ({"min_uses": 0}, "^--min-uses: min_uses must be between 1 and 1000"),
        ({"pin_share": 1.5}, "^--pin-share takes a share"),
        ({"pin_share": float("nan")}, "^--pin-share takes a share"),
        ({"mode_every": float("inf")}, "^--mode-every takes hours"),
        ({"mode_every": -1.0}, "^--mode-every takes hours"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("cdn_simulate", trace=str(path), stdout=io.StringIO(), **bad)


def _steered_one_by_one(trace, steerer):
    """Each session's edge as steering picks it, one `locate` and `choose` per session."""
    now = [trace[0].ts]
    steerer.use_clock(lambda: now[0], assigned_window=3600.0)
    out = []
    for r in trace:
        now[0] = r.ts
        site, _, _ = steerer.locate(ipaddress.ip_address(r.client), None)
        chosen = steerer.choose(site, r.key)
        out.append((chosen[0].name if chosen else "origin", r.key))
    return out


def _routed_sessions(routed):
    """(edge, content key) per session in trace order, read back from the routed lookups."""
    per_edge = {
        edge: [routed.keys[o >> CHUNK_BITS] for o in es.objs if o & ((1 << CHUNK_BITS) - 1) == 0]
        for edge, es in routed.edges.items()
    }
    return per_edge, dict(routed.sessions)


@pytest.mark.parametrize(("capacity", "fixed"), [(10**9, True), (4, False)])
def test_route_steers_every_session_as_steering_does_one_at_a_time(capacity, fixed):
    # With room to spare no edge gets busy: steering is asked once per site and key. With 4
    # sessions of capacity the bounded-load rule moves sessions, and every one is asked.
    trace = generate_trace(requests=1500, titles=60, regions=2, days=1, seed=9)
    snapshot = partial(synthetic_snapshot, regions=2, edges_per_site=3, capacity=capacity)
    steerer = Steerer(snapshot(), origin_url="o")
    assert steerer.load_never_matters(len(trace)) is fixed
    routed = route(trace, steerer, chunk_bytes=100_000_000)
    expected = _steered_one_by_one(trace, Steerer(snapshot(), origin_url="o"))
    per_edge: dict[str, list[str]] = {}
    for edge, key in expected:
        per_edge.setdefault(edge, []).append(key)
    assert _routed_sessions(routed) == (per_edge, {e: len(k) for e, k in per_edge.items()})
    assert list(routed.edges) == list(dict.fromkeys(edge for edge, _ in expected))
    by_hash = _steered_one_by_one(trace, Steerer(snapshot(capacity=10**9), origin_url="o"))
    assert (expected == by_hash) is fixed  # the busy case really spreads sessions


def test_load_never_matters_counts_the_load_reading_and_every_session():
    snap = synthetic_snapshot(regions=1, edges_per_site=2, capacity=100)
    steerer = Steerer(snap, origin_url="o", load_floor=0.2)
    assert steerer.load_never_matters(20) is True  # 20 / 100 = the floor
    assert steerer.load_never_matters(21) is False
    edge = next(iter(snap.edges))
    steerer.snapshot = snap.with_health({edge: EdgeHealth(up=True, load=0.15)}, version=2)
    assert steerer.load_never_matters(5) is True
    assert steerer.load_never_matters(6) is False
