"""Trace-driven CDN simulator: real steering, per-edge cache models (LRU, S3-FIFO, Belady,
stock nginx) and the edge policy as nginx runs it.

A trace is CSV `timestamp,client,content_key,bytes`: one playback session that read `bytes` of
the content key from its start (viewers who abandon read less). `client` is an IP address
(located by the real steering code) or a region/site name. Every content key is cut into
fixed-size chunks; a session touches its first ceil(bytes / chunk) chunks, each one cache lookup
(`cdn.routed_trace.route`).

A catalogue CSV `content_key,bytes,available_from` may come with it: what the catalogue knows
ahead of time (a title's size, when a new release becomes available). Warming
(`cdn.sim_warming.Warmer`) may use it and the plays that happened before each fill; it never
looks at later requests. The edge policy's replay is `cdn.edge_replay`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdn.admission import EdgePolicy
from cdn.caches import LRU, S3FIFO, Belady, NginxCache
from cdn.edge_replay import replay_edge_policy
from cdn.routed_trace import EdgeStream, Routed
from cdn.sim_warming import ReferenceReplay, Warmer
from cdn.steering import Steerer
from cdn.stream_replays import lru_hits, s3fifo_hits
from cdn.traces import Catalog


@dataclass
class Result:
    policy: str
    warming: bool
    requests: int = 0
    hits: int = 0
    bytes_total: int = 0
    bytes_hit: int = 0
    # With warming, where the fills went (see `simulate`): counts of chunks.
    warm: dict[str, int] = field(default_factory=dict)

    @property
    def object_hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        return self.bytes_hit / self.bytes_total if self.bytes_total else 0.0


def simulate(
    routed: Routed,
    steerer: Steerer,
    *,
    fraction: float,
    policies: tuple[str, ...] = ("lru", "s3fifo", "belady"),
    warming: tuple[bool, ...] = (False, True),
    warm_share: float = 0.75,
    warmer: Warmer | None = None,
    chunk_bytes: int = 50_000_000,
    catalog: Catalog | None = None,
    pin_share: float = 0.0,
    pin_hours: float = 24.0,
    diagnostics: bool = False,
    progress: Callable[[int], Any] | None = None,
    edge_policy: EdgePolicy | None = None,
) -> list[Result]:
    """Per-edge caches of `fraction` of each edge's working set; aggregate ratios per policy.

    Policies: `lru`, `s3fifo` and `belady` (references), `nginx` (proxy_cache as the edge
    configuration runs it with no admission) and `edge` (what the edges run under the
    project's decisions: `edge_policy` says which keys each edge stores and pins).

    With warming, each fill fetches onto every edge the chunks of the warmer's plan it does not
    hold, best first, at most `warm_share` of its cache. LRU takes them at the most recent end,
    coldest first (what a fetch through an nginx edge does). S3-FIFO takes a scheduled launch's
    chunks at the tail of its main queue with no frequency credit (one pass of main to be read,
    then gone unless read: a launch is a known demand, not a guess) and any other warmed chunk
    at the head of main (the next to go unless read), so a wrong prediction never outlives an
    object that proved itself. With `pin_share` > 0 a launch's chunks are instead held outside
    the policy (the policy's capacity shrinks by as much) until read or `pin_hours` after the
    launch, at most `pin_share` of the cache.

    Every warm replay counts the chunks its fills fetched from the origin in
    `Result.warm["fetched"]`. With `diagnostics` (always with `pin_share`), every lookup also
    goes through the bookkeeping that fills the rest of `Result.warm`: `read_cached` (read
    while still held), `read_after_eviction`, `unread_kept` / `unread_evicted` at the next fill;
    `release_first_reads` (a release chunk's first read on the edge: what a fill can win),
    `release_first_hits`, and for the misses the reason (`miss_warmed_evicted`,
    `miss_beyond_budget`, `miss_other_edge`, `miss_chunk_not_planned`, `miss_key_not_planned`).
    Without it the replay runs each policy's loop over the lookups between two fills.
    """
    if warmer is None and True in warming:
        warmer = Warmer(routed, steerer, chunk_bytes=chunk_bytes, catalog=catalog)
    slow = diagnostics or pin_share > 0
    results = []
    # A warm replay whose edge gets no fill is the cold replay: it is run once.
    cold: dict[tuple[str, str], bytearray] = {}
    for policy in policies:
        for warm in warming:
            if policy == "belady" and warm:
                continue
            res = Result(policy=policy, warming=warm)
            for edge_name, es in routed.edges.items():
                n = len(es.objs)
                capacity = max(1, int(es.working() * fraction))
                cache = _make_cache(policy, capacity, es, edge_policy)
                site = routed.site_of_edge.get(edge_name)
                fills: list[float] = []
                if warm and warmer is not None and site is not None and n:
                    fills = [
                        at
                        for at in warmer.fill_times(es.ts[0], es.ts[-1])
                        if warmer.plan(site, warmer.main_fill(at) or at).get(edge_name)
                    ]
                replay = ReferenceReplay(
                    cache,
                    routed=routed,
                    policy=policy,
                    capacity=capacity,
                    budget=int(capacity * warm_share),
                    stats=res.warm,
                    pin_share=pin_share,
                    pin_hours=pin_hours,
                )
                hits = bytearray(n)
                if policy == "edge":
                    replay_edge_policy(
                        routed,
                        es,
                        hits,
                        capacity=capacity,
                        policy=edge_policy or EdgePolicy(),
                        warmer=warmer if warm else None,
                        site=site,
                        edge=edge_name,
                        stats=res.warm,
                    )
                elif slow:
                    replay.replay_slowly(es, hits, warmer if warm else None, site, edge_name)
                elif not fills and (policy, edge_name) in cold:
                    hits = cold[(policy, edge_name)]
                elif not fills and policy == "lru":
                    lru_hits(es.previous_uses(), capacity, hits)
                    cold[(policy, edge_name)] = hits
                elif not fills and policy == "s3fifo":
                    s3fifo_hits(*es.dense_ids(), capacity, hits)
                    cold[(policy, edge_name)] = hits
                else:
                    replay.replay(es, hits, warmer, site, edge_name, fills)
                    if not fills:
                        cold[(policy, edge_name)] = hits
                res.requests += n
                res.hits += hits.count(1)
                res.bytes_total += es.bytes_total()
                res.bytes_hit += es.bytes_hit(hits)
                if progress is not None:
                    progress(n)
            results.append(res)
    return results


def _make_cache(policy: str, capacity: int, es: EdgeStream, edge_policy: EdgePolicy | None) -> Any:
    if policy == "lru":
        return LRU(capacity)
    if policy == "s3fifo":
        return S3FIFO(capacity)
    if policy == "belady":
        return Belady(capacity, es.next_uses())
    if policy == "nginx":
        return NginxCache(capacity)
    if policy == "edge":
        return None  # two zones, made by `replay_edge_policy`
    raise ValueError(f"unknown policy {policy!r}")
