"""One edge's replay under the project's edge policy, for tests of that policy."""

from __future__ import annotations

from cdn.admission import EdgePolicy
from cdn.edge_replay import replay_edge_policy
from cdn.routed_trace import Routed, route, synthetic_snapshot
from cdn.steering import Steerer
from cdn.traces import Request


def replay_one_edge(
    trace: list[Request],
    policy: EdgePolicy,
    *,
    capacity: int,
    chunk_bytes: int,
    stats: dict[str, int] | None = None,
) -> tuple[bytearray, Routed]:
    """Route `trace` to a one-site, one-edge snapshot and replay that edge; each lookup's hit
    (1) or miss (0), and the routed trace; `stats` gets the replay's counts."""
    steerer = Steerer(synthetic_snapshot(regions=1, edges_per_site=1), origin_url="o")
    routed = route(trace, steerer, chunk_bytes=chunk_bytes)
    (edge, es), *_ = routed.edges.items()
    hits = bytearray(len(es.objs))
    replay_edge_policy(
        routed,
        es,
        hits,
        capacity=capacity,
        policy=policy,
        warmer=None,
        site=routed.site_of_edge[edge],
        edge=edge,
        stats=stats,
    )
    return hits, routed
