"""Each edge's choice between pin-only and LRU-only, from its own earlier lookups only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.admission import EdgePolicy
from cdn.caches import NginxCache
from cdn.edge_replay import StreamArms, replay_edge_policy, run_zones
from cdn.routed_trace import CHUNK_BITS, route, synthetic_snapshot
from cdn.sim_warming import Warmer
from cdn.steering import Steerer
from cdn.traces import Request, generate_trace
from tests.cdn.edge_replay import replay_one_edge


def titles(*keys: int) -> list[int]:
    """Object ids of chunk 0 of each title."""
    return [k << CHUNK_BITS for k in keys]


def test_a_smaller_zone_deletes_from_the_tail_until_its_files_fit():
    zone = NginxCache(3, min_uses=2)
    for obj in ["x", "a", "a", "b", "b", "y", "c", "c"]:  # x, y: looked up once, no file
        zone.access(obj)
    assert [o for o in ["a", "b", "c"] if o in zone] == ["a", "b", "c"]
    zone.resize(1)
    assert [o for o in ["a", "b", "c"] if o in zone] == ["c"]
    # The tail's use-counting node went with the files; y, newer than b, stays.
    assert list(zone.nodes) == ["y", "c"]
    assert zone.stored == 1
    zone.resize(0)
    assert list(zone.nodes) == [] and zone.stored == 0


def arm_hits(objs, lists, capacity, *, min_uses=1, step=1):
    """(pin-only hits, LRU-only hits) after replaying `objs` (one a second) through `StreamArms`
    `step` lookups at a time, the pin arm under `lists(t)` for the lookups from t."""
    ts = [float(i) for i in range(len(objs))]
    arms = StreamArms(capacity, min_uses)
    played = {o >> CHUNK_BITS for o in objs}
    for lo in range(0, len(objs), step):
        hi = min(len(objs), lo + step)
        arms.replay(objs, ts, lo, hi, pinned=lists(lo), played=played)
    assert arms.lookups == len(objs)
    return tuple(arms.hits)


def test_pinning_hits_more_when_a_few_titles_carry_the_traffic_between_one_off_titles():
    # Titles 1 and 2 come back every third lookup; everything else is seen once. An LRU of
    # two loses them to the one-offs, a zone holding only them keeps both (each stored once).
    objs = titles(*[t for i in range(30) for t in (1 + i % 2, 100 + 2 * i, 101 + 2 * i)])
    assert arm_hits(objs, lambda t: {1, 2}, 2) == (28, 0)


def test_lru_hits_more_when_titles_repeat_at_once_and_the_pin_list_misses_them():
    objs = titles(*[t for i in range(40) for t in (100 + i, 100 + i)])
    assert arm_hits(objs, lambda t: {1, 2}, 2) == (0, 40)


def test_the_lru_arm_counts_uses_as_the_lru_zone_does():
    # Each title three times in a row: an LRU hits the second and third lookups, a zone that
    # stores at the second request (min_uses 2) only the third.
    objs = titles(*[100 + i for i in range(20) for _ in range(3)])
    assert arm_hits(objs, lambda t: set(), 2) == (0, 40)
    assert arm_hits(objs, lambda t: set(), 2, min_uses=2) == (0, 20)


def test_the_pin_arm_follows_each_hours_list():
    # Title 1 every third lookup between one-offs: named from lookup 60 on, the arm stores it
    # at its first lookup after that and hits the nine that follow.
    objs = titles(*[t for i in range(30) for t in (1, 100 + 2 * i, 101 + 2 * i)])
    assert arm_hits(objs, lambda t: {1} if t >= 60 else set(), 2, step=10) == (9, 0)


@settings(max_examples=60, deadline=None)
@given(
    seq=st.lists(st.integers(0, 12), min_size=1, max_size=120),
    later=st.lists(st.integers(0, 12), max_size=60),
    pinned=st.sets(st.integers(0, 12), max_size=5),
    capacity=st.integers(1, 6),
    step=st.integers(1, 10),
)
def test_the_arms_read_nothing_after_the_lookups_they_replayed(seq, later, pinned, capacity, step):
    def lists(t):
        return pinned

    alone = arm_hits(titles(*seq), lists, capacity, step=step)
    # The same lookups replayed with more after them in the stream, stopped at the same point.
    objs = titles(*seq, *later)
    ts = [float(i) for i in range(len(objs))]
    arms = StreamArms(capacity, 1)
    played = {o >> CHUNK_BITS for o in objs}
    for lo in range(0, len(seq), step):
        arms.replay(objs, ts, lo, min(len(seq), lo + step), pinned=pinned, played=played)
    assert tuple(arms.hits) == alone


def _edge_hits(trace, policy, capacity):
    hits, _routed = replay_one_edge(trace, policy, capacity=capacity, chunk_bytes=100_000_000)
    return list(hits)


def test_the_edge_policy_with_modes_replays_a_prefix_as_the_whole_trace_began():
    # No leakage end to end: lists, modes and zones at any moment come from earlier sessions
    # only, so the hits of the first lookups do not depend on what follows them.
    trace = generate_trace(requests=1200, titles=150, regions=1, days=2, seed=4)
    policy = EdgePolicy(mode_every=3600.0, mode_lookups=3.0)
    whole = _edge_hits(trace, policy, capacity=40)
    head = _edge_hits(trace[:700], policy, capacity=40)
    assert whole[: len(head)] == head
    # The modes change what is stored: not the fixed-share replay.
    assert whole != _edge_hits(trace, EdgePolicy(mode_every=0.0), capacity=40)


def test_a_fill_while_the_edge_is_idle_still_fetches_its_pin_list():
    # Site r1 plays title b five times on day 0; r0's edge plays c at noon on day 0 and b at
    # noon on day 1, idle in between. b leads r0's pin list by its global count, so the 07:00
    # fill of day 1 (an hour r0 serves nothing in) fetches it and its noon play hits.
    start = 1_700_006_400.0  # a midnight UTC
    trace = [Request(start + 43_200 + i, "r1", "b", 1) for i in range(5)]
    trace += [Request(start + 43_300, "r0", "c", 1), Request(start + 86_400 + 43_200, "r0", "b", 1)]
    steerer = Steerer(synthetic_snapshot(regions=2, edges_per_site=1), origin_url="o")
    routed = route(trace, steerer, chunk_bytes=100)
    warmer = Warmer(routed, steerer, chunk_bytes=100)
    es = routed.edges["r0-e0"]

    def hits(with_warmer):
        out, stats = bytearray(len(es.objs)), {}
        replay_edge_policy(
            routed,
            es,
            out,
            capacity=2,
            policy=EdgePolicy(),
            warmer=with_warmer,
            site="r0",
            edge="r0-e0",
            stats=stats,
        )
        return list(out), stats

    assert hits(None) == ([0, 0], {})
    # The fill's cost is counted: b's one chunk came from the origin, once.
    assert hits(warmer) == ([0, 1], {"fetched": 1})


def test_one_zone_replays_both_lists_in_order():
    # Title 1 pinned, title 2 admitted, one file of room: in one zone the second evicts the
    # first (two zones would have kept both).
    zone = NginxCache(1)
    objs = titles(1, 2, 1)
    hits = bytearray(3)
    run_zones({True: zone, False: zone}, objs, [0.0, 1.0, 2.0], hits, 0, 3, {1}, {2})
    assert list(hits) == [0, 0, 0]
    two = {True: NginxCache(1), False: NginxCache(1)}
    hits = bytearray(3)
    run_zones(two, objs, [0.0, 1.0, 2.0], hits, 0, 3, {1}, {2})
    assert list(hits) == [0, 0, 1]


def test_a_switch_of_mode_keeps_the_files_the_zone_holds(monkeypatch):
    # Title 1 every half hour on one edge. Pin-only first (the arms say pinning hits more),
    # then LRU-only from the first check after lookup 8 (the arms say the LRU arm does): the
    # file stored while pinned keeps hitting across the switch (a reload with another
    # admission list and min_uses, not an emptied cache).
    start = 1_700_006_400.0
    trace = [Request(start + 1800 * i, "r0", "hls/m1/v1/", 1) for i in range(20)]
    checks = []

    def replay(self, objs, ts, lo, hi, *, pinned, played):
        self.lookups += hi - lo
        self.hits = [0, 1] if self.lookups >= 8 else [1, 0]
        checks.append((self.lookups, tuple(self.hits)))

    monkeypatch.setattr(StreamArms, "replay", replay)
    policy = EdgePolicy(mode_every=3600.0, mode_lookups=0.0)
    hits, _ = replay_one_edge(trace, policy, capacity=4, chunk_bytes=100)
    assert checks[-1] == (20, (0, 1))  # the LRU arm was ahead for the last hours
    # Misses: the first hour (nothing pinned yet: no history) and the request that stored it.
    assert list(hits) == [0, 0, 0] + [1] * 17
