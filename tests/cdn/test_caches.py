"""The replay loops (`run`) of the cache models decide exactly what one lookup at a time does.

`run` is written for speed (S3-FIFO's eviction inlined, Belady keyed by next uses only), so it
is checked against the plain per-lookup path and, for Belady, against the definition: on a miss
in a full cache, drop whichever of the held objects and the newcomer is needed furthest ahead.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.caches import LRU, S3FIFO, Belady, NginxCache
from cdn.stream_replays import dense_ids, lru_hits, next_uses, previous_uses, s3fifo_hits

lookups = st.lists(st.integers(min_value=0, max_value=25), max_size=300)
capacities = st.integers(min_value=1, max_value=12)
# Object ids as the replay makes them (key index << 20 | chunk number): far from dense.
chunk_ids = st.lists(
    st.builds(lambda k, c: k << 20 | c, st.integers(0, 8), st.integers(0, 3)), max_size=300
)


def _run(cache, seq, pieces=3):
    """`run` over the sequence in a few slices, as the replay does between fills."""
    hits = bytearray(len(seq))
    cuts = [len(seq) * k // pieces for k in range(pieces + 1)]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        cache.run(seq, lo, hi, hits)
    return list(hits)


def _one_at_a_time(cache, seq):
    return [int(cache.access(obj, i)) for i, obj in enumerate(seq)]


def _belady_by_definition(capacity, seq):
    held: set[int] = set()
    out = []
    for i, obj in enumerate(seq):
        if obj in held:
            out.append(1)
            continue
        out.append(0)
        if len(held) < capacity:
            held.add(obj)
            continue

        def ahead(o, i=i, newcomer=obj):
            later = [j for j in range(i + 1, len(seq)) if seq[j] == o]
            return (later[0], 0) if later else (len(seq), 1 if o == newcomer else -o)

        # Never needed again: the newcomer goes first (it is "furthest" by its own index).
        furthest = max([*held, obj], key=ahead)
        if furthest != obj:
            held.discard(furthest)
            held.add(obj)
    return out


@settings(max_examples=200, deadline=None)
@given(seq=lookups, capacity=capacities)
def test_s3fifo_run_is_access_one_lookup_at_a_time(seq, capacity):
    fast, slow = S3FIFO(capacity), S3FIFO(capacity)
    assert _run(fast, seq) == _one_at_a_time(slow, seq)
    assert (list(fast.small), list(fast.main), fast.freq, list(fast.ghost)) == (
        list(slow.small),
        list(slow.main),
        slow.freq,
        list(slow.ghost),
    )


@settings(max_examples=200, deadline=None)
@given(seq=lookups, capacity=capacities)
def test_lru_run_is_access_one_lookup_at_a_time(seq, capacity):
    fast, slow = LRU(capacity), LRU(capacity)
    assert _run(fast, seq) == _one_at_a_time(slow, seq)
    assert list(fast.items) == list(slow.items)


@settings(max_examples=200, deadline=None)
@given(seq=lookups, capacity=capacities)
def test_belady_run_and_access_agree_with_the_definition(seq, capacity):
    nxt = next_uses(seq)
    expected = _belady_by_definition(capacity, seq)
    assert _run(Belady(capacity, nxt), seq) == expected
    assert _one_at_a_time(Belady(capacity, nxt), seq) == expected


@settings(max_examples=300, deadline=None)
@given(seq=chunk_ids, capacity=st.integers(min_value=0, max_value=12))
def test_lru_by_positions_is_lru_from_empty(seq, capacity):
    hits = bytearray(len(seq))
    lru_hits(previous_uses(seq), capacity, hits)
    assert list(hits) == _run(LRU(capacity), seq)


@settings(max_examples=300, deadline=None)
@given(seq=chunk_ids, capacity=st.integers(min_value=0, max_value=12))
def test_s3fifo_by_dense_ids_is_s3fifo_from_empty(seq, capacity):
    hits = bytearray(len(seq))
    s3fifo_hits(*dense_ids(seq), capacity, hits)
    assert list(hits) == _run(S3FIFO(capacity), seq)


def test_s3fifo_by_dense_ids_skips_a_ghost_entry_whose_object_left_and_came_back():
    # Capacity 2 (small 1, main 1, ghost 1). Found by search: a ghost entry goes stale when
    # its object is read again and re-evicted; dropping the new entry in its place (instead
    # of skipping the stale one) changes which later lookup counts as a ghost hit.
    seq = [1, 0, 0, 3, 1, 3, 1, 0, 3, 0, 3, 1, 0, 3]
    hits = bytearray(len(seq))
    s3fifo_hits(*dense_ids(seq), 2, hits)
    assert list(hits) == _run(S3FIFO(2), seq)


def test_previous_uses_names_the_last_lookup_of_the_same_object_or_none():
    assert previous_uses([5, 7, 5, 5, 9, 7]) == [6, 6, 0, 2, 6, 1]
    assert dense_ids([1 << 20, 3, 1 << 20, 7]) == ([2, 0, 2, 1], 3)


def test_a_fill_counts_one_use_as_any_request_does():
    # The warmer fetches a file once: under min_uses 2 that primes the count, the first
    # viewer's request stores it and the second hits.
    zone = NginxCache(2, min_uses=2)
    zone.insert("a")
    assert "a" not in zone
    assert zone.access("a") is False and "a" in zone
    assert zone.access("a") is True
    single = NginxCache(2)
    single.insert("b")
    assert "b" in single
