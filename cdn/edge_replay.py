"""The edge policy in the simulator: what a stock nginx edge does under the project's lists.

`cdn.admission` decides, every `EdgePolicy.interval`, which titles an edge pins and which its
LRU zone may store; the edge obeys with two `proxy_cache` zones (or one, in the per-edge mode
of `cdn.edge_mode`). This module replays exactly that, zone by zone as `cdn.caches.NginxCache`,
with the lists decided from the sessions before each moment only, and the daily fills read
through the edge.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from cdn.admission import DecayingSketch, EdgePolicy, decide
from cdn.caches import NginxCache
from cdn.demand_model import LearnedRanking, build_ranking
from cdn.edge_mode import Arms, choose, may_choose
from cdn.keep_hot import Heat, touch
from cdn.routed_trace import CHUNK_BITS, EdgeStream, Routed
from cdn.sim_warming import Warmer, add_count
from cdn.snapshot import stable_hash
from cdn.traces import DAY


def _global_sessions(routed: Routed) -> tuple[Any, Any]:
    """Every session's time and title index, oldest first (the pooled request log)."""
    cached = getattr(routed, "_global", None)
    if cached is None:
        ts = np.array([p[0] for p in routed.plays], dtype=np.float64)
        keys = np.array([routed.key_index[p[2]] for p in routed.plays], dtype=np.int64)
        cached = (ts, keys)
        routed._global = cached  # type: ignore[attr-defined]
    return cached


def learned_ranking(routed: Routed, policy: EdgePolicy) -> LearnedRanking:
    """The learned pin-list ranking, built once per trace and policy (it depends on neither
    the cache size nor warming): trained on samples taken at the start of every interval an
    edge serves sessions in and at each day's fill hour (07:00, `Warmer`'s default)."""
    cache: dict[tuple[float, float, float], LearnedRanking] = routed.__dict__.setdefault(
        "_learned", {}
    )
    key = (policy.interval, policy.learned_every, policy.learned_horizon)
    if key not in cache:
        mask = (1 << CHUNK_BITS) - 1
        sessions, updates = {}, {}
        for name, es in routed.edges.items():
            firsts = [i for i, o in enumerate(es.objs) if o & mask == 0]
            ts = np.array([es.ts[i] for i in firsts], dtype=np.float64)
            keys = np.array([es.objs[i] >> CHUNK_BITS for i in firsts], dtype=np.int64)
            sessions[name] = (ts, keys)
            active = np.floor(np.asarray(es.ts) / policy.interval) * policy.interval
            days = np.arange(math.floor(es.ts[0] / DAY) * DAY + 7 * 3600, es.ts[-1], DAY)
            daily = np.floor(days / policy.interval) * policy.interval
            updates[name] = np.unique(np.concatenate([active, daily])).tolist()
        cache[key] = build_ranking(
            sessions=sessions,
            updates=updates,
            titles=len(routed.keys),
            every=policy.learned_every,
            horizon=policy.learned_horizon,
        )
    return cache[key]


def replay_edge_policy(
    routed: Routed,
    es: EdgeStream,
    hits: bytearray,
    *,
    capacity: int,
    policy: EdgePolicy,
    warmer: Warmer | None,
    site: str | None,
    edge: str,
    stats: dict[str, int] | None = None,
) -> None:
    """What a stock nginx edge does under the project's lists (`cdn.admission`): a pin zone and
    an LRU zone, both `NginxCache`; every `policy.interval` the lists are decided again from
    the sessions before that moment; with a warmer, each fill pre-fetches the pinned titles
    (and the warmer's launches) through the edge. `stats["fetched"]` counts the chunks the
    fills fetched from the origin (those the edge did not hold): the fills' cost, beside the
    misses'."""
    g_ts, g_keys = _global_sessions(routed)
    learned = learned_ranking(routed, policy) if policy.learned_every > 0 else None
    hashes = np.array([stable_hash(k) for k in routed.keys], dtype=np.uint64)
    pin_cap = int(capacity * policy.pin_share)
    # A pinned title is stored at its first request (the edge's `@pinned` location); the LRU
    # zone stores a file at its `min_uses`-th request.
    zones = {
        True: NginxCache(pin_cap, min_uses=1, inactive=policy.inactive, valid=policy.valid),
        False: NginxCache(
            capacity - pin_cap,
            min_uses=policy.min_uses,
            inactive=policy.inactive,
            valid=policy.valid,
        ),
    }
    half_life = policy.half_life_hours * 3600
    local, glob = DecayingSketch(half_life=half_life), DecayingSketch(half_life=half_life)
    edges = max(1, len(routed.edges))
    objs, ts = es.objs, es.ts
    n = len(objs)
    mask = (1 << CHUNK_BITS) - 1
    fills = (
        warmer.fill_times(ts[0], ts[-1]) if warmer is not None and site is not None and n else []
    )
    largest: dict[int, int] = {}  # title → chunks of its longest session so far, here
    known = np.zeros(len(routed.keys) + 1, dtype=bool)  # titles anyone has played so far
    candidates = np.zeros(0, dtype=np.int64)
    lo = 0
    g_done = 0
    f = 0
    # With `mode_every`: the edge starts pin-only and replays both uses of its cache beside
    # the real one (`StreamArms`); once it has `mode_lookups` cache-sizes of lookups it checks,
    # every `mode_every`, which of the two has hit more so far, and runs that one in its one
    # zone. The pin arm follows the hourly pin lists of a pin-only edge, whatever the mode.
    mode_pin = True
    last_learned: set[int] = set()
    arms: StreamArms | None = None
    heat: Heat | None = None  # the edge's read counts, for its keep-hot touches
    if policy.mode_every:
        # One zone, the whole cache, in either mode: "pin" admits the pin list only and stores
        # at the first request, "lru" admits every title played before and stores at the
        # `min_uses`-th. A switch is a new admission list and min_uses (a reload): the files
        # already stored stay and are evicted by the zone's LRU as any others.
        one = NginxCache(capacity, inactive=policy.inactive, valid=policy.valid)
        zones = {True: one, False: one}
        pin_cap = capacity
        next_mode_at = -math.inf
        arms = StreamArms(capacity, policy.min_uses, inactive=policy.inactive, valid=policy.valid)
        if policy.touch_share > 0:
            heat = Heat(
                policy.touch_half_life_hours * 3600,
                limit=max(1, int(policy.touch_keep * capacity)),
            )
    # The lists are decided at the start of every interval the edge serves a lookup in, and of
    # every interval a fill falls in: warming runs on its schedule, busy edge or idle (fills
    # before the edge's first interval find nothing to fetch and are left out).
    if fills:
        fills = [at for at in fills if at >= math.floor(ts[0] / policy.interval) * policy.interval]
    while lo < n:
        start = math.floor(ts[lo] / policy.interval) * policy.interval
        if f < len(fills):
            start = min(start, math.floor(fills[f] / policy.interval) * policy.interval)
        end = start + policy.interval
        hi = bisect.bisect_left(ts, end, lo)
        # History strictly before `start`: this edge's sessions so far, and every edge's.
        g_upto = int(np.searchsorted(g_ts, start, side="left"))
        if g_upto > g_done:
            glob.add(hashes[g_keys[g_done:g_upto]], g_ts[g_done:g_upto])
            known[g_keys[g_done:g_upto]] = True
            candidates = np.flatnonzero(known)
            g_done = g_upto
        chunks_per_title = sum(largest.values()) / len(largest) if largest else 1.0
        lists = decide(
            keys=candidates,
            local=local.estimate(hashes[candidates], start),
            glob=glob.estimate(hashes[candidates], start),
            edges=edges,
            policy=policy,
            pin_titles=int(pin_cap / max(1.0, chunks_per_title)),
        )
        pinned, admitted = lists.pinned, lists.admitted
        ranking = lists.score  # how the pin list ranks its titles: a fill reads the coldest first
        # The learned list, hourly, the titles of the list the edge last served under kept
        # while ranked within `learned_keep` x its length (a fill fetches the list as it
        # stands; a fill in an idle hour does not move what the next busy hour keeps, so a
        # warmed replay keeps what the cold one does).
        scores = learned.score(edge, start) if learned is not None else None
        if scores is not None and len(candidates):
            ranking = scores[candidates]
            pinned = learned_pins(
                scores,
                candidates,
                int(pin_cap / max(1.0, chunks_per_title)),
                previous=last_learned,
                keep=policy.learned_keep,
            )
            if hi > lo:
                last_learned = pinned
        seg, pin_list = lo, pinned
        played: set[int] = set()  # every title played before, anywhere: the LRU mode's list
        if arms is not None:
            played = {int(k) for k in candidates}
            if (
                hi > lo
                and may_choose(
                    lookups=arms.lookups, capacity=capacity, mode_lookups=policy.mode_lookups
                )
                and start >= next_mode_at
            ):
                next_mode_at = start + policy.mode_every
                if choose(pin=mode_pin, hits=arms.hits, margin=policy.mode_margin) != mode_pin:
                    mode_pin = not mode_pin
                    zones[True].min_uses = 1 if mode_pin else policy.min_uses
            if not mode_pin:
                pinned, admitted = set(), set(played)  # the fills below add launches to it
            else:
                admitted = set()  # the pin list alone (and the warmer's launches, below)
            if heat is not None and arms is not None:
                # The keep-hot touches sent with the lists: to the zone in the LRU mode, and
                # always to the LRU arm, which replays LRU-only as it would run.
                keys = heat.touch_list(int(policy.touch_share * capacity))
                arms.touch(keys, at=start)
                if not mode_pin:
                    touched = touch(zones[True], keys, at=start)
                    if stats is not None and keys:
                        add_count(stats, "touches", len(keys))
                        add_count(stats, "touch_hits", touched)
        while f < len(fills) and fills[f] < end:
            at = fills[f]
            f += 1
            if at < start or warmer is None or site is None:
                continue
            # Run up to the fill, then read what the edge should hold through it: every chunk
            # of the pinned titles into their zone, coldest title first and a title's last
            # chunk first, so the best-ranked first chunks end at the head of the zone's LRU
            # queue (a chunk the zone holds is a hit that moves it there, as the warmer's
            # request does on a real edge; `cdn.warming.prefetch`); the warmer's launches
            # into the LRU zone (admitted for it).
            mid = bisect.bisect_left(ts, at, lo, hi)
            run_zones(zones, objs, ts, hits, lo, mid, pinned, admitted)
            lo = mid
            fetched = 0
            if pinned:
                rank = dict(zip(candidates.tolist(), ranking.tolist(), strict=True))
                pin_zone = zones[True]
                for key in sorted(pinned, key=lambda k: (rank.get(k, 0.0), -k)):
                    for c in range(largest.get(key, 1) - 1, -1, -1):
                        fetched += (key << CHUNK_BITS | c) not in pin_zone
                        pin_zone.insert(key << CHUNK_BITS | c, ts=at)
            for chunk in reversed(warmer.plan(site, warmer.main_fill(at) or at).get(edge, [])):
                obj = routed.obj(chunk)
                admitted.add(obj >> CHUNK_BITS)
                if obj not in zones[False] and (obj >> CHUNK_BITS) not in pinned:
                    fetched += 1
                    zones[False].insert(obj, ts=at)
            if stats is not None and fetched:
                add_count(stats, "fetched", fetched)
        run_zones(zones, objs, ts, hits, lo, hi, pinned, admitted)
        if arms is not None:
            arms.replay(objs, ts, seg, hi, pinned=pin_list, played=played)
        if heat is not None:
            heat.add(objs[seg:hi], ts[seg:hi])
        # What this interval adds to the history the next decision sees.
        for i in range(lo, hi):
            o = objs[i]
            key, c = o >> CHUNK_BITS, o & mask
            if c + 1 > largest.get(key, 0):
                largest[key] = c + 1
        firsts = [i for i in range(lo, hi) if objs[i] & mask == 0]
        if firsts:
            local.add(
                hashes[[objs[i] >> CHUNK_BITS for i in firsts]],
                np.array([ts[i] for i in firsts]),
            )
        lo = hi


def learned_pins(
    scores: Any, candidates: Any, length: int, *, previous: set[int], keep: float
) -> set[int]:
    """The `length` titles the model ranks first, except that a title of the `previous` list
    ranked within `keep` x `length` keeps its place ahead of newcomers."""
    if length <= 0:
        return set()
    ranked = candidates[np.argsort(-scores[candidates], kind="stable")].tolist()
    stay = [k for k in ranked[: int(keep * length)] if k in previous][:length]
    chosen = set(stay)
    for k in ranked:
        if len(chosen) >= length:
            break
        chosen.add(k)
    return chosen


class StreamArms(Arms):
    """`cdn.edge_mode.Arms` over the simulator's stream: lookups lo..hi of `objs`, each chunk
    id's title its high bits. What the edge's own past says about the two uses of its cache,
    and nothing later."""

    def replay(
        self,
        objs: list[int],
        ts: list[float],
        lo: int,
        hi: int,
        *,
        pinned: set[int],
        played: set[int],
    ) -> None:
        """Lookups lo..hi through both arms: the pin arm under `pinned`, the LRU arm admitting
        `played` (every title played before)."""
        seg = objs[lo:hi]
        self.feed(seg, ts[lo:hi], [o >> CHUNK_BITS for o in seg], pinned=pinned, played=played)


def run_zones(
    zones: dict[bool, NginxCache],
    objs: list[int],
    ts: list[float],
    hits: bytearray,
    lo: int,
    hi: int,
    pinned: set[int],
    admitted: set[int],
) -> None:
    """The lookups lo..hi through the zone the pin list names; the zones are independent
    caches, so each replays its own subsequence in order. One zone for both (the per-edge
    mode) replays them all in order, storing what either list names."""
    if lo >= hi:
        return
    if zones[True] is zones[False]:
        ok = pinned | admitted
        listed = [1 if (objs[i] >> CHUNK_BITS) in ok else 0 for i in range(lo, hi)]
        one_hits = bytearray(hi - lo)
        zones[True].run(objs[lo:hi], 0, hi - lo, one_hits, ts=ts[lo:hi], admit=listed)
        for j in range(hi - lo):
            if one_hits[j]:
                hits[lo + j] = 1
        return
    for pin in (True, False):
        idx = [i for i in range(lo, hi) if ((objs[i] >> CHUNK_BITS) in pinned) is pin]
        if not idx:
            continue
        sub = [objs[i] for i in idx]
        sub_hits = bytearray(len(idx))
        admit = None if pin else [1 if (o >> CHUNK_BITS) in admitted else 0 for o in sub]
        zones[pin].run(sub, 0, len(idx), sub_hits, ts=[ts[i] for i in idx], admit=admit)
        for j, i in enumerate(idx):
            if sub_hits[j]:
                hits[i] = 1
