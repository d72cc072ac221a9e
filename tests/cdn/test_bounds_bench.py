"""bench/cdn_bounds.py's hindsight bounds on a stream small enough to work out by hand."""

from __future__ import annotations

import pytest

from cdn.simulator import EdgeStream


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
