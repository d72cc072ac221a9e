"""Keep-hot touches (cdn.keep_hot): the edge's decayed read counts, what a touch does to nginx's
queue, and the simulator's edge touched as a real one is."""

from __future__ import annotations

import math

import pytest

from cdn.admission import EdgePolicy
from cdn.caches import NginxCache
from cdn.edge_replay import StreamArms
from cdn.keep_hot import Heat, touch
from cdn.routed_trace import CHUNK_BITS
from cdn.traces import Request, generate_trace
from tests.cdn.edge_replay import replay_one_edge

HOUR = 3600.0


def test_heat_ranks_by_reads_each_halving_every_half_life():
    heat = Heat(HOUR)
    heat.add(["old"] * 3, [0.0, 1.0, 2.0])  # three reads, two half-lives before "new"
    heat.add(["new", "warm", "warm"], [2 * HOUR, 2 * HOUR, 2 * HOUR])
    # old: 3 / 4 = 0.75 < new: 1 < warm: 2; the hottest comes last.
    assert heat.touch_list(3) == ["old", "new", "warm"]
    assert heat.touch_list(1) == ["warm"]
    assert heat.touch_list(0) == []
    heat.add(["old"], [2 * HOUR + 1])  # 0.75 + 1 passes new, not warm
    assert heat.touch_list(3) == ["new", "old", "warm"]


def test_heat_is_finite_and_exact_whatever_the_clock_says():
    # An edge whose clock ran a year ahead, then was set right: the counts neither overflow
    # nor depend on the order the reads come in.
    year = 365 * 86_400.0
    ahead, back = Heat(6 * HOUR), Heat(6 * HOUR)
    ahead.add(["skewed", "skewed", "plain"], [year, 0.0, 0.0])
    back.add(["plain", "skewed", "skewed"], [0.0, 0.0, year])
    assert ahead.values == pytest.approx(back.values)
    assert ahead.touch_list(2) == ["plain", "skewed"]
    # Read at the same moment, twice counts twice: log 2 more than once.
    heat = Heat(HOUR)
    heat.add(["a", "b", "b"], [HOUR, HOUR, HOUR])
    assert heat.values["b"] - heat.values["a"] == pytest.approx(math.log(2))


def test_heat_keeps_the_hottest_limit_keys_past_twice_the_limit():
    heat = Heat(HOUR, limit=2)
    heat.add(["a", "a", "a", "b", "b", "c", "d"], [float(t) for t in range(7)])
    assert len(heat) == 4  # not past twice the limit yet
    heat.add(["e"], [7.0])
    assert sorted(heat.values) == ["a", "b"]
    heat.add(["e"], [8.0])  # read again after it was dropped: one read
    assert heat.touch_list(3) == ["e", "b", "a"]


def test_heat_survives_a_round_trip_through_its_bytes():
    heat = Heat(6 * HOUR)
    heat.add(["hls/a/v1/1.ts", "hls/b/v1/1.ts", "hls/b/v1/1.ts"], [10.0, 20.0, 30.0])
    again = Heat.loads(heat.dumps(), half_life=6 * HOUR)
    assert again.values == heat.values
    assert again.touch_list(2) == ["hls/a/v1/1.ts", "hls/b/v1/1.ts"]


def test_a_touch_moves_a_held_file_to_the_head_and_stores_nothing():
    zone = NginxCache(2, min_uses=2)
    for obj in ["h", "h", "x", "x"]:  # both stored at their second lookup; x at the head
        zone.access(obj)
    assert touch(zone, ["y", "h"], at=5.0) == 1  # y is not held: no hit, nothing stored
    assert "y" not in zone and zone.stored == 2
    zone.access("a")
    zone.access("a")  # stored: the tail, x, goes (untouched, h would have)
    assert ["h" in zone, "x" in zone, "a" in zone] == [True, False, True]
    zone.access("y")  # the touch counted one use: stored at this, its second lookup
    assert "y" in zone


def test_a_touch_list_of_nothing_touches_nothing():
    zone = NginxCache(1)
    assert touch(zone, [], at=0.0) == 0 and not zone.nodes


def _lru_edge(monkeypatch):
    """The arms always say LRU-only hits more, so the edge runs the LRU mode from its first
    choice; returns the touch lists its LRU arm was sent."""
    sent = []

    def replay(self, objs, ts, lo, hi, *, pinned, played):
        self.lookups += hi - lo
        self.hits = [0, 1]

    def arm_touch(self, keys, *, at):
        sent.append((at, list(keys)))

    monkeypatch.setattr(StreamArms, "replay", replay)
    monkeypatch.setattr(StreamArms, "touch", arm_touch)
    return sent


START = 1_700_006_400.0  # a midnight UTC


def _hot_and_burst() -> list[Request]:
    # Hour 0 makes H, X and A known (the LRU mode admits titles played before). Hour 1: H read
    # three times, X twice: both stored (min_uses 2), X nearer the head. Hour 2: A, stored at
    # this second lookup, pushes the tail out of a 2-file zone, then H comes back.
    def at(hour, i):
        return START + hour * HOUR + 60 * i

    keys = {"H": "hls/h/v1/", "X": "hls/x/v1/", "A": "hls/a/v1/"}
    plan = [(0, "HXA"), (1, "HHHXX"), (2, "AH")]
    return [Request(at(h, i), "r0", keys[k], 1) for h, ks in plan for i, k in enumerate(ks)]


def test_an_lru_mode_edge_touched_keeps_its_hot_title_through_a_burst(monkeypatch):
    sent = _lru_edge(monkeypatch)
    trace = _hot_and_burst()
    untouched = EdgePolicy(mode_every=HOUR, mode_lookups=0.0)
    touched = EdgePolicy(mode_every=HOUR, mode_lookups=0.0, touch_share=0.5)
    cold, _ = replay_one_edge(trace, untouched, capacity=2, chunk_bytes=100)
    assert list(cold)[-2:] == [0, 0]  # A evicted H, the tail
    assert sent == []
    hot, routed = replay_one_edge(trace, touched, capacity=2, chunk_bytes=100)
    # At hour 2's list update H, read most, was touched to the head: A evicted X, H hits.
    assert list(hot)[-2:] == [0, 1]
    assert list(hot)[:-2] == list(cold)[:-2]
    h = routed.key_index["hls/h/v1/"] << CHUNK_BITS  # chunk 0 of H
    assert sent[-1] == (START + 2 * HOUR, [h])


def test_a_pin_mode_edge_is_not_touched_but_its_lru_arm_is(monkeypatch):
    sent = []

    def replay(self, objs, ts, lo, hi, *, pinned, played):
        self.lookups += hi - lo
        self.hits = [1, 0]  # pinning ahead: the edge stays in the pin mode

    monkeypatch.setattr(StreamArms, "replay", replay)
    monkeypatch.setattr(StreamArms, "touch", lambda self, keys, *, at: sent.append(list(keys)))
    policy = EdgePolicy(mode_every=HOUR, mode_lookups=0.0, touch_share=0.5)
    trace = _hot_and_burst()
    stats: dict[str, int] = {}
    _, routed = replay_one_edge(trace, policy, capacity=2, chunk_bytes=100, stats=stats)
    assert "touches" not in stats
    # The arm is touched at each hour's list update as an LRU-mode edge would be: nothing read
    # yet, then A (hour 0's three single reads, A last), then H (read most by hour 2).
    a, h = (routed.key_index[k] << CHUNK_BITS for k in ("hls/a/v1/", "hls/h/v1/"))
    assert sent == [[], [a], [h]]


@pytest.mark.parametrize("share", [0.5, 0.8])
def test_touches_replay_a_prefix_as_the_whole_trace_began(share):
    # No leakage: the counts a touch list comes from are earlier lookups only.
    trace = generate_trace(requests=1200, titles=150, regions=1, days=2, seed=4)
    policy = EdgePolicy(mode_every=HOUR, mode_lookups=1.0, touch_share=share)
    whole, _ = replay_one_edge(trace, policy, capacity=40, chunk_bytes=100_000_000)
    head, _ = replay_one_edge(trace[:700], policy, capacity=40, chunk_bytes=100_000_000)
    assert list(whole)[: len(head)] == list(head)
    plain, _ = replay_one_edge(
        trace, EdgePolicy(mode_every=HOUR, mode_lookups=1.0), capacity=40, chunk_bytes=100_000_000
    )
    assert list(whole) != list(plain)  # the touches change what the edge holds
