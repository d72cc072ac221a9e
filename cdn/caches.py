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
        self.freq: dict[Any, int] = {}  # held object → its 2-bit frequency (membership too)

    def __contains__(self, obj: Any) -> bool:
        return obj in self.freq

    def __len__(self) -> int:
        return len(self.freq)

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.small_cap = max(1, capacity // 10)
        self.main_cap = max(0, capacity - self.small_cap)
        while self.freq and len(self.freq) > max(0, capacity):
            self._evict()

    def access(self, obj: Any, now: int = 0) -> bool:
        if obj in self.freq:
            self.freq[obj] = min(3, self.freq[obj] + 1)
            return True
        self.insert(obj, ghost_hit=obj in self.ghost)
        return False

    def run(self, objs: Sequence[Any], lo: int, hi: int, hits: bytearray) -> None:
        """`access` over objs[lo:hi], with `_evict` and `_evict_small` inlined: a miss in a
        full cache is the common case at small sizes, and two calls per miss were most of the
        replay's time. Same decisions, in the same order, as the methods."""
        cap = self.capacity
        if cap <= 0:
            return
        freq, ghost = self.freq, self.ghost
        small, main = self.small, self.main
        small_cap, main_cap = self.small_cap, self.main_cap
        small_pop, small_push, main_push = small.popleft, small.append, main.append
        ghost_drop = ghost.popitem
        evict_main = self._evict_main
        get = freq.get
        held = len(freq)
        for i in range(lo, hi):
            o = objs[i]
            f = get(o)
            if f is not None:
                if f < 3:
                    freq[o] = f + 1
                hits[i] = 1
                continue
            # Whether it was a ghost is decided before the eviction that may forget it.
            was_ghost = o in ghost
            while held >= cap:
                if len(small) < small_cap and main:
                    evict_main()
                    held = len(freq)
                    continue
                while small:
                    x = small_pop()
                    if freq[x] > 0:
                        main_push(x)
                        freq[x] = 0
                        if len(main) > main_cap:
                            evict_main()
                            held = len(freq)
                            break
                    else:
                        del freq[x]
                        held -= 1
                        ghost[x] = None
                        while len(ghost) > main_cap:
                            ghost_drop(False)
                        break
                else:
                    evict_main()
                    held = len(freq)
            freq[o] = 0
            held += 1
            if was_ghost:
                ghost.pop(o, None)  # the eviction above may have forgotten it already
                main_push(o)
            else:
                small_push(o)

    def insert(
        self,
        obj: Any,
        *,
        ghost_hit: bool = False,
        main: bool = False,
        warmed: str = "",
    ) -> None:
        if self.capacity <= 0 or obj in self.freq:
            return
        while len(self.freq) >= self.capacity:
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
        elif ghost_hit or main:
            self.ghost.pop(obj, None)
            self.main.append(obj)
        else:
            self.small.append(obj)

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
                self.freq[obj] = 0
                if len(self.main) > self.main_cap:
                    self._evict_main()
                    return
            else:
                del self.freq[obj]
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
                del self.freq[obj]
                return


class Belady:
    """Offline optimum for uniform sizes: evict what is next needed furthest in the future.

    `next_use[i]` is the index of the next lookup of lookup i's object, or, if there is none,
    a number from len(next_use) up that no other lookup shares
    (`cdn.stream_replays.next_uses`). A held object is then named by its next use alone: lookup
    i hits exactly when `i` is held, so the replay never looks at the objects. `held` marks held
    next uses; the heap holds -next use, and an entry stays in it after a hit (its value is then
    in the past, smaller than every held one, so it never reaches the top while anything is
    held). Objects never needed again are only counted (`dead`): they are the first to go, in
    any order, since none of them can hit.
    """

    name = "belady"

    def __init__(self, capacity: int, next_use: Sequence[int]) -> None:
        self.capacity = capacity
        self.next_use = next_use
        self.held = bytearray(len(next_use))
        self.count = 0  # objects held, `dead` ones included
        self.dead = 0
        self.heap: list[int] = []  # -next use

    def access(self, obj: Any, now: int = 0) -> bool:
        """One lookup; `now` is its index in the stream `next_use` was computed from."""
        hits = bytearray(now + 1)
        self.run(None, now, now + 1, hits)
        return bool(hits[now])

    def run(self, objs: Any, lo: int, hi: int, hits: bytearray) -> None:
        """Lookups lo..hi (`objs` is not needed: `next_use` names every object)."""
        cap = self.capacity
        if cap <= 0:
            return
        held, heap, next_use = self.held, self.heap, self.next_use
        end = len(next_use)
        push, replace = heapq.heappush, heapq.heapreplace
        count, dead = self.count, self.dead
        for i, nxt in enumerate(next_use[lo:hi], lo):
            if held[i]:
                # A hit. held[i] stays set: no later step reads or evicts a past next use, so
                # held[lo:hi] are the hits once the loop is done.
                if nxt >= end:
                    dead += 1
                    continue
            elif count < cap:
                count += 1
                if nxt >= end:
                    dead += 1
                    continue
            elif nxt >= end:
                continue  # needed never again: later than everything held, so bypassed
            elif dead:
                dead -= 1  # a never-again object is needed furthest ahead: it goes
            else:
                # Evict the held object needed furthest ahead, or bypass the newcomer when
                # it is needed later than all of them.
                far = -heap[0]
                if far < nxt:
                    continue
                held[far] = 0
                held[nxt] = 1
                replace(heap, -nxt)
                continue
            held[nxt] = 1
            push(heap, -nxt)
        self.count, self.dead = count, dead
        if hi > lo:
            np.frombuffer(hits, dtype=np.uint8)[lo:hi] |= np.frombuffer(held, dtype=np.uint8)[lo:hi]


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

    def resize(self, capacity: int) -> None:
        """A new `max_size` (a reload): the manager deletes from the tail until it fits."""
        self.capacity = capacity
        nodes, stored = self.nodes, self.stored
        while stored > capacity:
            _, old = nodes.popitem(False)
            if old[0] >= 0:
                stored -= 1
        self.stored = stored

    def access(self, obj: Any, now: int = 0, *, ts: float = 0.0, admit: bool = True) -> bool:
        hits = bytearray(1)
        self.run([obj], 0, 1, hits, ts=[ts], admit=None if admit else bytearray(1))
        return bool(hits[0])

    def insert(self, obj: Any, *, ts: float = 0.0) -> None:
        """A fill through the edge: one admitted request that nobody watches. Like any request
        it counts one use, so under `min_uses` 2 a file the zone has not seen is not stored yet
        (the warmer fetches each file once)."""
        hits = bytearray(1)
        self.run([obj], 0, 1, hits, ts=[ts], admit=None)

    def run(
        self,
        objs: Sequence[Any],
        lo: int,
        hi: int,
        hits: bytearray,
        *,
        ts: Sequence[float],
        admit: Sequence[int] | None = None,
    ) -> None:
        nodes = self.nodes
        move = nodes.move_to_end
        popitem = nodes.popitem
        cap, inactive, valid = self.capacity, self.inactive, self.valid
        min_uses = self.min_uses
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
