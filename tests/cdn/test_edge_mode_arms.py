"""The per-edge mode's arms fed batch by batch and saved between batches, as real edges run them,
against one replay of the whole stream; the choice rule; the signed URIs that count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cdn.caches import NginxCache
from cdn.edge_mode import Arms, cache_key_of, choose, may_choose
from cdn.edge_replay import run_zones
from cdn.routed_trace import CHUNK_BITS

lookups = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 3)), min_size=1, max_size=150)


def one_shot(seq, pinned_at, played, capacity, min_uses):
    """Each arm as one replay of the whole stream through the simulator's zones (a title's
    chunk c is object title * 4 + c), the pin list in force per lookup from `pinned_at`."""
    objs = [t * 4 + c for t, c in seq]
    ts = [float(i) for i in range(len(seq))]
    pin = {True: NginxCache(capacity), False: NginxCache(0)}
    lru = {True: NginxCache(0), False: NginxCache(capacity, min_uses=min_uses)}
    pin_hits, lru_hits = bytearray(len(seq)), bytearray(len(seq))
    for i in range(len(seq)):  # the pin list may change at any lookup
        _run_zones_titles(pin, objs, ts, pin_hits, i, pinned_at(i), played)
    _run_zones_titles(lru, objs, ts, lru_hits, None, set(), played)
    return pin_hits.count(1), lru_hits.count(1)


def _run_zones_titles(zones, objs, ts, hits, i, pinned, played):
    # `run_zones` reads titles from the high bits (CHUNK_BITS); here titles are objs // 4.
    shifted = [(o // 4) << CHUNK_BITS | (o % 4) for o in objs]
    lo, hi = (0, len(objs)) if i is None else (i, i + 1)
    run_zones(zones, shifted, ts, hits, lo, hi, set(pinned), set(played))


@given(
    seq=lookups,
    pins=st.lists(st.sets(st.integers(0, 9), max_size=4), min_size=1, max_size=4),
    played=st.sets(st.integers(0, 9)),
    cuts=st.lists(st.integers(1, 20), min_size=1, max_size=20),
    capacity=st.integers(1, 8),
    min_uses=st.integers(1, 3),
)
def test_fed_in_batches_and_saved_between_them_the_arms_hit_as_one_replay(
    seq, pins, played, cuts, capacity, min_uses
):
    # The pin list changes between batches; string keys and titles as a real edge logs them.
    bounds, at = [], 0
    for n in cuts * (len(seq) // sum(cuts) + 1):
        if at >= len(seq):
            break
        bounds.append((at, min(len(seq), at + n)))
        at += n
    in_force = {}
    for b, (lo, hi) in enumerate(bounds):
        for i in range(lo, hi):
            in_force[i] = pins[b % len(pins)]

    arms = Arms(capacity, min_uses)
    for b, (lo, hi) in enumerate(bounds):
        batch = seq[lo:hi]
        arms.feed(
            [f"hls/t{t}/v1/c{c}.ts" for t, c in batch],
            [float(i) for i in range(lo, hi)],
            [f"hls/t{t}/v1/" for t, _ in batch],
            pinned={f"hls/t{t}/v1/" for t in pins[b % len(pins)]},
            played={f"hls/t{t}/v1/" for t in played},
        )
        arms = Arms.loads(
            arms.dumps(), min_uses=min_uses, inactive=float("inf"), valid=float("inf")
        )

    assert tuple(arms.hits) == one_shot(seq, in_force.get, played, capacity, min_uses)
    assert arms.lookups == len(seq)


def test_a_saved_arm_keeps_its_use_counts_and_its_order():
    arms = Arms(2, 2)
    keys = ["a", "b", "a", "c", "c", "b"]  # a stored, then c; b counted twice: stored, a evicted
    arms.feed(keys, [0.0] * 6, ["t"] * 6, pinned=set(), played={"t"})
    loaded = Arms.loads(arms.dumps(), min_uses=2, inactive=float("inf"), valid=float("inf"))
    assert list(loaded.lru.nodes.items()) == list(arms.lru.nodes.items())
    assert (loaded.lru.stored, loaded.lru.capacity) == (2, 2)
    assert ("a" in loaded.lru, "b" in loaded.lru, "c" in loaded.lru) == (False, True, True)


def test_pin_stays_until_the_lru_arm_wins_by_the_margin():
    assert choose(pin=True, hits=[10, 14], margin=1.5) is True
    assert choose(pin=True, hits=[10, 15], margin=1.5) is False  # 15 >= 1.5 x 10
    assert choose(pin=True, hits=[0, 0], margin=1.0) is False  # a tie goes to LRU from pin
    # Back to pin only when pinning does strictly better by the margin.
    assert choose(pin=False, hits=[15, 10], margin=1.5) is False
    assert choose(pin=False, hits=[16, 10], margin=1.5) is True


def test_no_choice_before_mode_lookups_cache_sizes():
    assert may_choose(lookups=199, capacity=100, mode_lookups=2.0) is False
    assert may_choose(lookups=200, capacity=100, mode_lookups=2.0) is True


def test_only_signed_media_uris_are_lookups():
    signed = "/t/0123abcdn/AAAAAAAAAAAAAAAAAAAAAA/1999999999/hls/a1/v2/720p/seg0.ts"
    assert cache_key_of(signed) == ("hls/a1/v2/720p/seg0.ts", "hls/a1/v2/")
    assert cache_key_of(signed.replace("/t/", "/x/")) is None
    assert cache_key_of(signed.replace("720p/seg0.ts", "../../x/")) is None
    assert cache_key_of(signed.replace("seg0.ts", "seg 0.ts")) is None
    assert cache_key_of("/cdn-health") is None
    assert cache_key_of(signed + "\n") is None
