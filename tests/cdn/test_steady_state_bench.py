"""bench/cdn_steady_state.py counts what the simulator counts, from the warm-up's end."""

from __future__ import annotations

import pytest

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
    assert 0 < cold <= best
    # a day of warm-up leaves the second day's lookups; the trace is over by day 5
    day_two = sum(1 for r in trace if r.ts >= trace[0].ts + 86_400)
    assert 0 < totals[1][0] < lookups
    assert totals[1][1] <= best and totals[1][2] <= cold
    assert day_two <= totals[1][0]  # a session is one lookup or more
    assert totals[5] == [0, 0, 0, 0]
