"""bench/cdn_bounds.py's hindsight bounds on a stream small enough to work out by hand."""

from __future__ import annotations

import pytest

from cdn.routed_trace import EdgeStream


@pytest.fixture
def cdn_bounds():
    from bench import cdn_bounds

    return cdn_bounds


def test_bounds_of_a_one_slot_cache(cdn_bounds, monkeypatch):
    # Four chunks, one slot. Belady keeps 1 and bypasses the rest: 3 hits (lookups 2, 4, 7).
    es = EdgeStream(objs=[1, 2, 1, 3, 1, 2, 4, 1], ts=[0.0] * 8)
    assert cdn_bounds.belady(es, 1).count(1) == 3
    # The fixed set is chunk 1, held from the start: all four of its lookups hit.
    assert cdn_bounds.most_read(es)[:1] == [1]
    # Storing only what is read again within 2 lookups keeps 1 and nothing else: 3 hits.
    assert cdn_bounds.oracle_lru(es, 1, 2, set()) == 3
    # Storing everything read again at all lets 2 push 1 out before lookup 2: fewer hits.
    assert cdn_bounds.oracle_lru(es, 1, 100, set()) < 3
    monkeypatch.setattr(cdn_bounds, "WITHIN", (100, 2))  # the sweep keeps the better K
    b = cdn_bounds.bounds({"e": es}, 0.25)
    assert b["belady"] == 3 / 8
    assert b["fixed"] == pytest.approx(4 / 3)
    assert b["on_fixed"] == 1.0
    assert (b["oracle"], b["oracle_k"]) == (1.0, 2)
    assert b["hybrid"] >= b["oracle"]


def test_lookups_of_the_fixed_set_never_reach_the_lru_beside_it(cdn_bounds):
    es = EdgeStream(objs=[1, 2, 1, 2, 1, 2], ts=[0.0] * 6)
    # Without chunk 1, chunk 2 alone fills the one slot: it hits at lookups 3 and 5.
    assert cdn_bounds.oracle_lru(es, 1, 10, {1}) == 2
    # With chunk 1 in the same slot's way, they evict each other: nothing hits.
    assert cdn_bounds.oracle_lru(es, 1, 10, set()) == 0


def test_one_list_for_all_edges_ranks_by_every_edge_together(cdn_bounds, monkeypatch):
    monkeypatch.setattr(cdn_bounds, "WITHIN", (2,))
    monkeypatch.setattr(cdn_bounds, "SHARES", (0.0,))
    # Edge a reads 1 most, edge b reads 2 most; over both, 3 is read most (five times).
    a = EdgeStream(objs=[1, 1, 1, 3, 3, 3, 5, 6], ts=[0.0] * 8)
    b = EdgeStream(objs=[2, 2, 2, 2, 3, 3, 7, 8], ts=[0.0] * 8)
    bounds = cdn_bounds.bounds({"a": a, "b": b}, 0.2)  # one slot each (5 distinct chunks)
    # Each edge's own fixed set (1 at a, 2 at b) hits 3 + 4 times; the shared list's top, 3,
    # hits 3 + 2 times.
    best = cdn_bounds.belady(a, 1).count(1) + cdn_bounds.belady(b, 1).count(1)
    assert bounds["fixed"] == pytest.approx(7 / best)
    assert bounds["shared"] == pytest.approx(5 / best)


def test_the_shared_list_skips_chunks_an_edge_never_reads(cdn_bounds, monkeypatch):
    monkeypatch.setattr(cdn_bounds, "WITHIN", (2,))
    monkeypatch.setattr(cdn_bounds, "SHARES", (0.0,))
    # 9 is read most over both edges but never at b: b's slot goes to its own best of the
    # shared ranking (4, read three times there), not to 9.
    a = EdgeStream(objs=[9, 9, 9, 9, 9, 9, 4, 2], ts=[0.0] * 8)
    b = EdgeStream(objs=[4, 4, 4, 1, 2, 3, 5, 6], ts=[0.0] * 8)
    bounds = cdn_bounds.bounds({"a": a, "b": b}, 0.2)
    best = cdn_bounds.belady(a, 1).count(1) + cdn_bounds.belady(b, 1).count(1)
    assert bounds["shared"] == pytest.approx((6 + 3) / best)
