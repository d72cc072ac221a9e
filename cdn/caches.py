"""Per-edge cache models for the simulator: nginx's proxy_cache as it runs, and references.

Every model counts capacity in chunks (uniform sizes) and has two ways in: `access(obj, i)` for
one lookup, and `run(objs, lo, hi, hits, ...)`, the replay's hot loop over a slice of an edge's
lookups (objects are small ints there), which marks hits in a bytearray. Keeping the loop inside
the model, with its state in locals, is what makes a 100k-session replay take seconds.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np

INF = math.inf


class LRU:
    name = "lru"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[Any, None] = OrderedDict()

    def access(self, obj: Any, now: int = 0) -> bool:
        if obj in self.items:
            self.items.move_to_end(obj)
            return True
        self.insert(obj)
        return False

    def run(self, objs: Sequence[Any], lo: int, hi: int, hits: bytearray) -> None:
        cap = self.capacity
        if cap <= 0:
            return
        items = self.items
        move = items.move_to_end
        popitem = items.popitem
        held = len(items)
        for i in range(lo, hi):
            o = objs[i]
            if o in items:
                move(o)
                hits[i] = 1
            else:
                items[o] = None
                if held >= cap:
                    popitem(False)
                else:
                    held += 1

    def insert(self, obj: Any) -> None:
        if self.capacity <= 0 or obj in self.items:
            return
        self.items[obj] = None
        self.items.move_to_end(obj)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)

    def __contains__(self, obj: Any) -> bool:
        return obj in self.items

    def touch(self, obj: Any) -> None:
        """A fetch that hits: the object becomes the most recent (no hit is counted)."""
        self.items.move_to_end(obj)

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        while len(self.items) > max(0, capacity):
            self.items.popitem(last=False)


class S3FIFO:
    """S3-FIFO (Yang et al., SOSP '23): a small probationary FIFO (10%), a main FIFO with
    2-bit frequency and reinsertion, and a ghost FIFO of recently evicted keys."""

    name = "s3fifo"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.small_cap = max(1, capacity // 10)
        self.main_cap = max(0, capacity - self.small_cap)
        self.small: deque[Any] = deque()
        self.main: deque[Any] = deque()
        self.ghost: OrderedDict[Any, None] = OrderedDict()
        self.freq: dict[Any, int] = {}
        self.where: dict[Any, str] = {}

    def __contains__(self, obj: Any) -> bool:
        return obj in self.where

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.small_cap = max(1, capacity // 10)
        self.main_cap = max(0, capacity - self.small_cap)
        while self.where and len(self.where) > max(0, capacity):
            self._evict()

    def access(self, obj: Any, now: int = 0) -> bool:
        if obj in self.where:
            self.freq[obj] = min(3, self.freq[obj] + 1)
            return True
        self.insert(obj, ghost_hit=obj in self.ghost)
        return False

    def run(self, objs: Sequence[Any], lo: int, hi: int, hits: bytearray) -> None:
        if self.capacity <= 0:
            return
        freq, where, ghost = self.freq, self.where, self.ghost
        small, main = self.small, self.main
        cap = self.capacity
        evict = self._evict
        for i in range(lo, hi):
            o = objs[i]
            f = freq.get(o)
            if f is not None:
                if f < 3:
                    freq[o] = f + 1
                hits[i] = 1
                continue
            # Whether it was a ghost is decided before the eviction that may forget it.
            was_ghost = o in ghost
            while len(where) >= cap:
                evict()
            freq[o] = 0
            if was_ghost:
                ghost.pop(o, None)
                main.append(o)
                where[o] = "m"
            else:
                small.append(o)
                where[o] = "s"

    def insert(
        self,
        obj: Any,
        *,
        ghost_hit: bool = False,
        main: bool = False,
        warmed: str = "",
    ) -> None:
        if self.capacity <= 0 or obj in self.where:
            return
        while len(self.where) >= self.capacity:
            self._evict()
        self.freq[obj] = 0
        if warmed:
            # A fill's prediction skips probation but earns no frequency: "tail" (a scheduled
            # launch) gets one pass of main to be read, "head" (a guess from past plays) is the
            # next thing main evicts. Either way an unread warmed chunk never outlives an object
            # that proved itself by a hit.
            self.ghost.pop(obj, None)
            if warmed == "head":
                self.main.appendleft(obj)
            else:
                self.main.append(obj)
            self.where[obj] = "m"
        elif ghost_hit or main:
            self.ghost.pop(obj, None)
            self.main.append(obj)
            self.where[obj] = "m"
        else:
            self.small.append(obj)
            self.where[obj] = "s"

    def _evict(self) -> None:
        if len(self.small) >= self.small_cap or not self.main:
            self._evict_small()
        else:
            self._evict_main()

    def _evict_small(self) -> None:
        while self.small:
            obj = self.small.popleft()
            if self.freq[obj] > 0:
                self.main.append(obj)
                self.where[obj] = "m"
                self.freq[obj] = 0
                if len(self.main) > self.main_cap:
                    self._evict_main()
                    return
            else:
                del self.where[obj], self.freq[obj]
                self.ghost[obj] = None
                while len(self.ghost) > self.main_cap:
                    self.ghost.popitem(last=False)
                return
        self._evict_main()

    def _evict_main(self) -> None:
        while self.main:
            obj = self.main.popleft()
            if self.freq[obj] > 0:
                self.freq[obj] -= 1
                self.main.append(obj)
            else:
                del self.where[obj], self.freq[obj]
                return


class Belady:
    """Offline optimum for uniform sizes: evict what is next needed furthest in the future.

    `next_use[i]` is the index of the next lookup of lookup i's object, or a number past the
    end that no other lookup shares (`next_uses`): every held object is then named by its next
    use alone, and the heap holds plain ints.
    """

    name = "belady"

    def __init__(self, capacity: int, next_use: Sequence[int]) -> None:
        self.capacity = capacity
        self.next_use = next_use
        self.items: dict[Any, int] = {}  # object → its next use
        self.owner: dict[int, Any] = {}  # next use → object
        self.heap: list[int] = []  # -next use

    def __contains__(self, obj: Any) -> bool:
        return obj in self.items

    def access(self, obj: Any, now: int = 0) -> bool:
        """One lookup; `now` is its index in the stream `next_use` was computed from."""
        hits = bytearray(1)
        self.run(_One(obj), now, now + 1, hits, out=0)
        return bool(hits[0])

    def run(self, objs: Any, lo: int, hi: int, hits: bytearray, *, out: int | None = None) -> None:
        cap = self.capacity
        if cap <= 0:
            return
        items, owner, heap, next_use = self.items, self.owner, self.heap, self.next_use
        push, pop = heapq.heappush, heapq.heappop
        for i in range(lo, hi):
            o = objs[i]
            nxt = next_use[i]
            if o in items:
                hits[i if out is None else out] = 1
            elif len(items) >= cap:
                # Bypass: the newcomer is needed later than everything held.
                while items.get(owner.get(-heap[0])) != -heap[0]:
                    del owner[-pop(heap)]
                if -heap[0] < nxt:
                    continue
                victim = owner.pop(-pop(heap))
                del items[victim]
            items[o] = nxt
            owner[nxt] = o
            push(heap, -nxt)


class NginxCache:
    """One `proxy_cache` zone as nginx 1.22 keeps it (src/http/ngx_http_file_cache.c).

    Every lookup finds or creates a node at the head of one LRU queue and counts a use. A miss
    is stored when the request may be cached (`proxy_no_cache` empty: `admit`) and the node has
    been looked up `min_uses` times while it lived; with `min_uses` 1 a node that was not stored
    is dropped after the response, with more it stays to count uses. The cache manager deletes
    nodes from the queue's tail, stored or not, until the stored chunks fit `capacity`; nodes
    unused for `inactive` seconds are deleted too, and a stored chunk older than `valid` is
    fetched again (a miss; stored anew if admitted). nginx's manager evicts every few seconds
    rather than after each insert, so a real edge briefly holds a little more than its size.
    """

    name = "nginx"

    def __init__(
        self,
        capacity: int,
        *,
        min_uses: int = 1,
        inactive: float = INF,
        valid: float = INF,
    ) -> None:
        self.capacity = capacity
        self.min_uses = max(1, min_uses)
        self.inactive = inactive
        self.valid = valid
        # obj → [stored at (epoch; -1: a node that only counts uses), uses, last lookup]
        self.nodes: OrderedDict[Any, list[float]] = OrderedDict()
        self.stored = 0

    def __contains__(self, obj: Any) -> bool:
        node = self.nodes.get(obj)
        return node is not None and node[0] >= 0

    def access(self, obj: Any, now: int = 0, *, ts: float = 0.0, admit: bool = True) -> bool:
        hits = bytearray(1)
        self.run([obj], 0, 1, hits, ts=[ts], admit=None if admit else bytearray(1))
        return bool(hits[0])

    def insert(self, obj: Any, *, ts: float = 0.0) -> None:
        """A fill through the edge (an admitted request that nobody watches)."""
        hits = bytearray(1)
        self.run([obj], 0, 1, hits, ts=[ts], admit=None, force=True)

    def run(
        self,
        objs: Sequence[Any],
        lo: int,
        hi: int,
        hits: bytearray,
        *,
        ts: Sequence[float],
        admit: Sequence[int] | None = None,
        force: bool = False,
    ) -> None:
        nodes = self.nodes
        move = nodes.move_to_end
        popitem = nodes.popitem
        cap, inactive, valid = self.capacity, self.inactive, self.valid
        min_uses = 1 if force else self.min_uses
        stored = self.stored
        for i in range(lo, hi):
            o = objs[i]
            t = ts[i]
            ok = admit is None or admit[i]
            node = nodes.get(o)
            if node is not None and node[2] + inactive <= t:
                # The manager's inactivity pass deleted it (it is at the tail by then).
                del nodes[o]
                if node[0] >= 0:
                    stored -= 1
                node = None
            if node is None:
                if ok and min_uses <= 1:
                    nodes[o] = [t, 1, t]
                    stored += 1
                elif min_uses > 1:
                    nodes[o] = [-1.0, 1, t]
                else:
                    continue
            else:
                move(o)
                node[1] += 1
                node[2] = t
                if node[0] >= 0:
                    if t - node[0] < valid:
                        hits[i] = 1
                        continue
                    if ok:
                        node[0] = t
                    continue
                if ok and node[1] >= min_uses:
                    node[0] = t
                    stored += 1
                else:
                    continue
            while stored > cap:
                _, old = popitem(False)
                if old[0] >= 0:
                    stored -= 1
        self.stored = stored


class _One:
    """The same object at every index (one `access` through `run`)."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, i: int) -> Any:
        return self.obj


def next_uses(objs: Sequence[int]) -> list[int]:
    """For each lookup, the index of the next lookup of the same object (far future if none)."""
    arr = np.asarray(objs, dtype=np.int64)
    order = np.argsort(arr, kind="stable")
    # No next lookup: past the end, and distinct, so a next use names one object.
    nxt = np.arange(len(arr), dtype=np.int64) + (1 << 62)
    same = arr[order[:-1]] == arr[order[1:]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt.tolist()
