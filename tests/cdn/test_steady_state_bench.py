"""bench/cdn_steady_state.py counts what the simulator counts, from the warm-up's end."""

from __future__ import annotations

import math

import pytest

from cdn.caches import Belady
from cdn.routed_trace import route, synthetic_snapshot
from cdn.sim_warming import Warmer
from cdn.simulator import simulate
from cdn.steering import Steerer
from cdn.traces import generate_workload


@pytest.fixture
def cdn_steady_state():
    from bench import cdn_steady_state

    return cdn_steady_state


def test_no_warm_up_is_the_simulators_count_and_a_warm_up_counts_less(cdn_steady_state):
    trace, catalog = generate_workload(requests=1_500, titles=200, regions=2, days=2, seed=5)
    steerer = Steerer(synthetic_snapshot(regions=2, edges_per_site=2), origin_url="origin")
    routed = route(trace, steerer, chunk_bytes=50_000_000)
    warmer = Warmer(routed, steerer, chunk_bytes=50_000_000, catalog=catalog)

    totals = cdn_steady_state.measure(routed, warmer, 5, (0, 1, 5))

    by_run = {
        (r.policy, r.warming): r
        for r in simulate(
            routed,
            steerer,
            fraction=0.05,
            policies=("edge", "belady"),
            warmer=warmer,
            edge_policy=cdn_steady_state.POLICY,
        )
    }
    lookups, best, cold, warm = totals[0]
    assert lookups == by_run["belady", False].requests
    assert best == by_run["belady", False].hits
    assert cold == by_run["edge", False].hits
    assert warm == by_run["edge", True].hits

    # A day of warm-up counts the chunk lookups of the sessions from the second day on, and
    # Belady's hits among them, here replayed one lookup at a time.
    cut = trace[0].ts + 86_400
    assert totals[1][0] == sum(math.ceil(r.nbytes / 50_000_000) for r in trace if r.ts >= cut)
    later_hits = 0
    for es in routed.edges.values():
        belady = Belady(max(1, int(es.working() * 0.05)), es.next_uses())
        later_hits += sum(belady.access(None, i) and t >= cut for i, t in enumerate(es.ts))
    assert totals[1][1] == later_hits
    # the trace is over by day 5
    assert totals[5] == [0, 0, 0, 0]
