"""bench/cdn_keep_hot.py: the zone untouched is nginx's LRU zone, a touch moves a held chunk to
the head of the queue, and a touch of a chunk the zone does not hold stores nothing."""

from __future__ import annotations

import pytest

from cdn.caches import NginxCache
from cdn.routed_trace import route, synthetic_snapshot
from cdn.steering import Steerer
from cdn.traces import generate_workload


@pytest.fixture
def keep_hot():
    from bench import cdn_keep_hot

    return cdn_keep_hot


def replay(keep_hot, objs, ts, *, capacity, every, share=0.5):
    touched = keep_hot.Touched(capacity, every=every, share=share, half_life_h=6)
    hits = bytearray(len(objs))
    touched.replay(objs, ts, hits)
    return touched, list(hits)


def test_without_touches_it_is_the_lru_zone_lookup_for_lookup(keep_hot):
    trace, _ = generate_workload(requests=1_500, titles=200, regions=2, days=2, seed=5)
    steerer = Steerer(synthetic_snapshot(regions=2, edges_per_site=2), origin_url="origin")
    routed = route(trace, steerer, chunk_bytes=50_000_000)
    for es in routed.edges.values():
        if not es.objs:
            continue
        capacity = max(1, es.working() // 20)
        touched, hits = replay(keep_hot, es.objs, es.ts, capacity=capacity, every=0)
        expected = bytearray(len(es.objs))
        NginxCache(capacity, min_uses=2).run(es.objs, 0, len(es.objs), expected, ts=es.ts)
        assert hits == list(expected)
        assert touched.touches == 0


def test_a_touch_keeps_the_hottest_chunk_past_a_newcomer(keep_hot):
    # Two files fit (min_uses 2: a file is stored at its second read). A is read three times,
    # B twice after it, then C twice after the quarter hour: storing C evicts the queue's tail.
    # Untouched, that is A (read before B), and A's next read misses. The touch at 900 s (one
    # file at share 0.5: A, read most) moves A to the head, so B goes instead and A hits.
    objs = [1, 1, 1, 2, 2, 3, 3, 1]
    ts = [0.0, 1.0, 2.0, 3.0, 4.0, 900.0, 901.0, 902.0]
    _, untouched = replay(keep_hot, objs, ts, capacity=2, every=0)
    touched, hits = replay(keep_hot, objs, ts, capacity=2, every=900)
    assert untouched[-1] == 0
    assert hits[-1] == 1
    assert (touched.touches, touched.touch_hits) == (1, 1)
    assert 2 not in touched.zone and 3 in touched.zone


def test_a_touch_of_a_chunk_not_held_stores_nothing_and_counts_one_use(keep_hot):
    touched = keep_hot.Touched(1, every=900, share=1, half_life_h=6)
    touched.replay([7], [0.0], bytearray(1))  # one use, not stored under min_uses 2
    touched.touch(900.0)
    assert 7 not in touched.zone
    assert touched.zone.nodes[7][1] == 2
    assert (touched.touches, touched.touch_hits) == (1, 0)
