"""Keep-hot touches: an edge's decayed read counts, and the touches that keep its hottest files
at the head of nginx's queue, shared by the simulator and real edges.

nginx cannot be told to keep a file, but every lookup moves the file's node to the head of the
zone's LRU queue. An edge rendered with `cdn_nginx_config --touch-allow` answers
`HEAD /_touch/<cache key>`: a lookup in the same zone that never stores and asks no origin. So
touching the files an edge has read most, coldest first, keeps them ahead of a burst of one-off
reads: the frequency S3-FIFO has and nginx's LRU lacks (`bench/cdn_keep_hot.py`). `Heat` is the
edge's read counts, each read's weight halving every `half_life` seconds; `touch` is what the
touches do to a zone, as nginx does them (tested against a real edge in
tests/cdn/test_nginx_equivalence.py).
"""

from __future__ import annotations

import heapq
import json
import math
import zlib
from collections.abc import Hashable, Sequence
from operator import itemgetter
from typing import Any

from cdn.caches import NginxCache


class Heat:
    """Each key's read count at one edge, every read's weight halving every `half_life` seconds.

    A key's value is log(sum over its reads of e ** (rate x read time)): the log of its decayed
    count at any moment plus `rate` x that moment, so values rank as the decayed counts do at
    any later moment and nothing has to be aged at a read. A read adds by log-sum-exp, exact in
    any order of reads and finite whatever their times (a clock a year off overflows no float).
    At most `limit` keys are kept (0: no bound): past twice that many, the `limit` hottest stay
    (a key read again after it was dropped starts again at one read).
    """

    def __init__(self, half_life: float, *, limit: int = 0) -> None:
        self.rate = math.log(2) / half_life
        self.limit = limit
        self.values: dict[Hashable, float] = {}

    def __len__(self) -> int:
        return len(self.values)

    def add(self, keys: Sequence[Hashable], ts: Sequence[float]) -> None:
        """Reads of `keys` at times `ts` (in any order: the sum does not depend on it)."""
        rate, values = self.rate, self.values
        exp, log1p = math.exp, math.log1p
        for key, at in zip(keys, ts, strict=True):
            now = rate * at
            before = values.get(key)
            if before is None:
                values[key] = now
            elif before >= now:
                values[key] = before + log1p(exp(now - before))
            else:
                values[key] = now + log1p(exp(before - now))
        if self.limit and len(values) > 2 * self.limit:
            self.values = dict(heapq.nlargest(self.limit, values.items(), key=itemgetter(1)))

    def touch_list(self, size: int) -> list[Hashable]:
        """The `size` hottest keys, coldest first: touched in this order, the hottest ends at
        the head of the queue."""
        if size <= 0:
            return []
        hottest = heapq.nlargest(size, self.values.items(), key=itemgetter(1))
        return [key for key, _ in reversed(hottest)]

    # A real edge's heat lives in the database between two runs, as its arms do: plain JSON
    # (no pickle), compressed.

    def dumps(self) -> bytes:
        items = [[key, value] for key, value in self.values.items()]
        return zlib.compress(json.dumps(items, separators=(",", ":")).encode())

    @classmethod
    def loads(cls, data: bytes, *, half_life: float, limit: int = 0) -> Heat:
        heat = cls(half_life, limit=limit)
        heat.values = {str(key): float(value) for key, value in json.loads(zlib.decompress(data))}
        return heat


def touch(zone: NginxCache, keys: Sequence[Any], *, at: float) -> int:
    """Touch `keys` in this order at `at`, as the edge's touch location does: each is a lookup
    that stores nothing (`proxy_no_cache 1`), so a file the zone holds is a hit that moves it to
    the head of the queue, and one it does not hold counts one use of its node. Returns the
    touches that hit."""
    if not keys:
        return 0
    hits = bytearray(len(keys))
    zone.run(keys, 0, len(keys), hits, ts=[at] * len(keys), admit=bytes(len(keys)))
    return hits.count(1)
