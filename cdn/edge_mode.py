"""The per-edge mode's two arms and its choice rule, shared by the simulator and real edges.

An edge in the per-edge mode runs one `proxy_cache` zone the size of its whole cache, either
"pin" (the pin list alone admitted, stored at the first request) or "lru" (every title played
before admitted, stored at the `min_uses`-th request). Beside it, `Arms` replays the edge's
lookups through both uses of the cache as if each had run alone from the edge's first lookup
(set dueling), batch by batch, under the lists in force for each batch; `choose` says which
mode the edge runs next. Lookups are any hashable object key with its title: the simulator's
chunk ids, or a real edge's cache keys (`hls/<asset>/<version>/<file>`, the part of the signed
URI nginx caches by) and their `hls/<asset>/<version>/` prefixes.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import OrderedDict
from collections.abc import Collection, Hashable, Sequence
from typing import Any

from cdn.caches import NginxCache
from cdn.keep_hot import touch

PIN, LRU = "pin", "lru"

# The signed media URI the edge's nginx location accepts (cdn/templates/cdn/nginx_edge.conf):
# the cache key is what follows the token, the title its content key.
_SIGNED_URI = re.compile(
    r"^/t/[0-9a-f]{8}[an]/[A-Za-z0-9_-]{22}/[0-9]{1,12}/"
    r"(?P<key>(?P<title>hls/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)[A-Za-z0-9_.-]+(?:/|\Z)[A-Za-z0-9_./-]*)"
)


def cache_key_of(uri: str) -> tuple[str, str] | None:
    """(cache key, title) of a signed media URI as an edge logs it, or None for anything else."""
    match = _SIGNED_URI.fullmatch(uri)
    if match is None or ".." in uri.split("/"):
        return None
    return match["key"], match["title"]


def title_of(key: str) -> str:
    """The title (`hls/<asset>/<version>/`) of a real edge's cache key."""
    return "/".join(key.split("/", 3)[:3]) + "/"


def files_per_title(zone: NginxCache) -> float:
    """How many files a title takes in `zone` (a real edge's arm, keyed by cache key): its
    files over the titles they belong to, 0 when it holds none. The simulator sizes a pin
    list with the same quantity from its chunk ids (the mean number of chunks of the titles
    the edge has served)."""
    titles = {title_of(str(key)) for key in zone.nodes}
    return len(zone.nodes) / len(titles) if titles else 0.0


class Arms:
    """Pin-only and LRU-only, each one zone of `capacity` files replayed from the edge's first
    lookup: the pin arm stores the titles of the pin list in force at each lookup (at the first
    request; a lookup of an unpinned title does not touch it), the LRU arm every title played
    before (at the `min_uses`-th request). `hits` is each arm's hits so far."""

    def __init__(
        self,
        capacity: int,
        min_uses: int,
        *,
        inactive: float = math.inf,
        valid: float = math.inf,
    ) -> None:
        # Files kept as long as the real zone keeps them.
        self.pin = NginxCache(capacity, inactive=inactive, valid=valid)
        self.lru = NginxCache(capacity, min_uses=min_uses, inactive=inactive, valid=valid)
        self.hits = [0, 0]  # pin-only, LRU-only
        self.lookups = 0

    def feed(
        self,
        objs: Sequence[Hashable],
        ts: Sequence[float],
        titles: Sequence[Hashable],
        *,
        pinned: Collection[Hashable],
        played: Collection[Hashable],
    ) -> None:
        """The next lookups, in order (`titles[i]` is `objs[i]`'s title), under the pin list
        and the titles played before that were in force for them."""
        idx = [i for i, t in enumerate(titles) if t in pinned]
        if idx:
            hits = bytearray(len(idx))
            self.pin.run([objs[i] for i in idx], 0, len(idx), hits, ts=[ts[i] for i in idx])
            self.hits[0] += hits.count(1)
        if objs:
            hits = bytearray(len(objs))
            admit = [1 if t in played else 0 for t in titles]
            self.lru.run(objs, 0, len(objs), hits, ts=ts, admit=admit)
            self.hits[1] += hits.count(1)
        self.lookups += len(objs)

    def touch(self, keys: Sequence[Hashable], *, at: float) -> None:
        """The keep-hot touches an edge in the LRU mode gets (`cdn.keep_hot`), sent to the LRU
        arm: what LRU-only would do is what it does with them."""
        touch(self.lru, keys, at=at)

    def resize(self, capacity: int) -> None:
        """Both arms to `capacity` files (a real edge's estimate moves with its mean file)."""
        self.pin.resize(capacity)
        self.lru.resize(capacity)

    # A real edge's arms live in the database between two replays: plain JSON (no pickle,
    # so a row never runs code when it is read), compressed.

    def dumps(self) -> bytes:
        state = {
            "hits": self.hits,
            "lookups": self.lookups,
            "zones": [_zone_state(self.pin), _zone_state(self.lru)],
        }
        return zlib.compress(json.dumps(state, separators=(",", ":")).encode())

    @classmethod
    def loads(cls, data: bytes, *, min_uses: int, inactive: float, valid: float) -> Arms:
        state = json.loads(zlib.decompress(data))
        pin, lru = state["zones"]
        arms = cls(int(pin["capacity"]), min_uses, inactive=inactive, valid=valid)
        _load_zone(arms.pin, pin)
        _load_zone(arms.lru, lru)
        arms.hits = [int(h) for h in state["hits"]]
        arms.lookups = int(state["lookups"])
        return arms


def _zone_state(zone: NginxCache) -> dict[str, Any]:
    return {"capacity": zone.capacity, "nodes": [[k, *v] for k, v in zone.nodes.items()]}


def _load_zone(zone: NginxCache, state: dict[str, Any]) -> None:
    zone.nodes = OrderedDict((k, [float(a), int(u), float(t)]) for k, a, u, t in state["nodes"])
    zone.stored = sum(1 for node in zone.nodes.values() if node[0] >= 0)


def may_choose(*, lookups: int, capacity: int, mode_lookups: float) -> bool:
    """The first choice waits until the arms have seen `mode_lookups` cache-sizes of lookups."""
    return lookups >= mode_lookups * capacity


def choose(*, pin: bool, hits: Sequence[int], margin: float) -> bool:
    """Whether the edge runs "pin" next, from the arms' hits (pin-only, LRU-only). Pinning must
    do strictly better; a switch costs a reload and the misses while the zone's files turn
    over, so the other mode must win by `margin`."""
    pin_score, lru_score = hits
    if pin:
        return not lru_score >= margin * pin_score
    return pin_score > margin * lru_score
