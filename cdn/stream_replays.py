"""Whole-stream replays from an empty cache, by lookup position, and the indexes they need.

A replay with no fills in between starts empty and sees only the stream, so objects can be
named by positions and small dense ids instead of hashed keys: list and bytearray indexing in
place of dict and OrderedDict operations. The same decisions as the models' `run` in
`cdn.caches` (tested in tests/cdn/test_caches.py): what `cdn_simulate` runs for LRU and S3-FIFO
without warming; `next_uses` is what `cdn.caches.Belady` reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np


def lru_hits(prev: Sequence[int], capacity: int, hits: bytearray) -> None:
    """`cdn.caches.LRU(capacity).run` over a whole stream, given `previous_uses` of its lookups.

    `held[j]` marks lookup j when its object is held and j is that object's latest lookup, so
    lookup i hits exactly when `held[prev[i]]`; the least recent held object is the first
    marked position, and the scan for it only moves forward (a position behind it is never
    marked again)."""
    if capacity <= 0:
        return
    n = len(prev)
    held = bytearray(n + 1)  # position n: "no earlier lookup", never marked
    count = tail = 0
    lookups = enumerate(prev)
    for i, p in lookups:  # filling up: nothing is evicted yet
        if held[p]:
            held[p] = 0
            hits[i] = 1
        else:
            count += 1
        held[i] = 1
        if count >= capacity:
            break
    find = held.find
    for i, p in lookups:
        if held[p]:
            held[p] = 0
            hits[i] = 1
        else:
            tail = find(1, tail)
            held[tail] = 0
        held[i] = 1


def s3fifo_hits(dense: Sequence[int], distinct: int, capacity: int, hits: bytearray) -> None:
    """`cdn.caches.S3FIFO(capacity).run` over a whole stream of objects 0..distinct - 1
    (`dense_ids`).

    Frequencies are a list (-1: not held); the ghost FIFO is a deque of objects with each
    ghost's position in it (`gpos`, -1: not a ghost), so forgetting a ghost on a ghost hit is
    one store, and an entry whose object left the ghost (or came back later) is skipped when
    it reaches the head."""
    cap = capacity
    if cap <= 0:
        return
    small_cap = max(1, cap // 10)
    main_cap = max(0, cap - small_cap)
    freq = [-1] * distinct
    gpos = [-1] * distinct
    small: deque[int] = deque()
    main: deque[int] = deque()
    ghosts: deque[int] = deque()
    small_pop, small_push = small.popleft, small.append
    main_pop, main_push = main.popleft, main.append
    ghost_pop, ghost_push = ghosts.popleft, ghosts.append
    ghead = gtail = glive = 0  # positions of the ghost FIFO's head and end; live ghosts
    held = 0
    for i, o in enumerate(dense):
        f = freq[o]
        if f >= 0:
            if f < 3:
                freq[o] = f + 1
            hits[i] = 1
            continue
        was_ghost = gpos[o] >= 0
        while held >= cap:
            evict_main = len(small) < small_cap and bool(main)
            if not evict_main:
                while small:
                    x = small_pop()
                    if freq[x] > 0:
                        main_push(x)
                        freq[x] = 0
                        if len(main) > main_cap:
                            evict_main = True
                            break
                    else:
                        freq[x] = -1
                        held -= 1
                        gpos[x] = gtail
                        gtail += 1
                        ghost_push(x)
                        glive += 1
                        while glive > main_cap:
                            y = ghost_pop()
                            if gpos[y] == ghead:
                                gpos[y] = -1
                                glive -= 1
                            ghead += 1
                        break
                else:
                    evict_main = True
            if evict_main:
                while main:
                    y = main_pop()
                    fy = freq[y]
                    if fy > 0:
                        freq[y] = fy - 1
                        main_push(y)
                    else:
                        freq[y] = -1
                        held -= 1
                        break
        freq[o] = 0
        held += 1
        if was_ghost:
            if gpos[o] >= 0:  # the eviction above may have forgotten it already
                gpos[o] = -1
                glive -= 1
            main_push(o)
        else:
            small_push(o)


def stream_indexes(objs: Sequence[int]) -> tuple[list[int], list[int], list[int], int]:
    """From one sort of the lookups: `next_uses`, `previous_uses`, `dense_ids` and the number
    of distinct objects (the replays of every size share them)."""
    arr = np.asarray(objs, dtype=np.int64)
    n = len(arr)
    order = np.argsort(arr, kind="stable")
    same = arr[order[:-1]] == arr[order[1:]]
    nxt = np.arange(n, dtype=np.int64) + n
    nxt[order[:-1][same]] = order[1:][same]
    prev = np.full(n, n, dtype=np.int64)
    prev[order[1:][same]] = order[:-1][same]
    dense = np.empty(n, dtype=np.int64)
    dense[order] = np.concatenate(([0], np.cumsum(~same))) if n else order
    return nxt.tolist(), prev.tolist(), dense.tolist(), int(dense.max()) + 1 if n else 0


def previous_uses(objs: Sequence[int]) -> list[int]:
    """For each lookup, the index of the previous lookup of the same object (len(objs): none)."""
    return stream_indexes(objs)[1]


def dense_ids(objs: Sequence[int]) -> tuple[list[int], int]:
    """The objects renamed 0..k - 1 (in sorted order), and k."""
    _, _, dense, distinct = stream_indexes(objs)
    return dense, distinct


def next_uses(objs: Sequence[int]) -> list[int]:
    """For each lookup, the index of the next lookup of the same object (far future if none):
    past the end, and distinct, so a next use names one object."""
    return stream_indexes(objs)[0]
