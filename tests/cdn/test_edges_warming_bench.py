"""The real-edge warming bench (bench/cdn_edges_warming.py) on a tiny catalogue: real nginx edges,
real steering, a real fill; the warmed replay beats the cold one, miss for miss as predicted."""

from __future__ import annotations

import pytest

from bench import cdn_edges_warming as bench

pytestmark = [pytest.mark.slow, pytest.mark.needs_nginx]


def key_of(path: str) -> str:
    return "/".join(path.split("/")[:3]) + "/"


@pytest.mark.django_db(transaction=True)
def test_a_fill_from_yesterdays_plays_raises_todays_hit_ratio_on_real_edges(tmp_path):
    outcome = bench.run(workdir=tmp_path, keys=10, sessions=80, releases=1, warm_keys=3, seed=3)
    cold, warm = outcome.cold, outcome.warm

    # Same sessions, steered to the same edges both times: only the caches differ.
    assert warm.first_edges == cold.first_edges
    assert warm.requested == cold.requested
    assert warm.total.requests == cold.total.requests
    # 3 keys per site (2 sites); the hottest key of r0 also goes to its second edge.
    assert len(outcome.warmed) == 7
    assert outcome.warmed_files == len(outcome.warmed) * (bench.SEGMENTS + 2)

    # Cold: every file misses exactly once per edge (the caches hold the whole catalogue).
    assert cold.total.requests - cold.total.hits == len(cold.requested) == cold.origin_fetches
    # Warm: exactly the files of keys not filled on that edge miss, once each.
    not_warmed = {
        (edge, path) for edge, path in warm.requested if (edge, key_of(path)) not in outcome.warmed
    }
    assert warm.total.requests - warm.total.hits == len(not_warmed) == warm.origin_fetches
    assert not warm.missed & outcome.warmed

    assert warm.total.object_hit_ratio > cold.total.object_hit_ratio
    assert warm.total.byte_hit_ratio > cold.total.byte_hit_ratio
    assert outcome.beats


@pytest.mark.django_db(transaction=True)
def test_with_the_project_s_lists_the_fill_is_each_edge_s_recorded_pin_list(tmp_path):
    """Edges running cdn_edge_lists' lists: the fill fetched exactly the pin lists decided at the
    fill from yesterday's plays, none of those files missed today, and the fill raised the hit
    ratio on edges that refuse unlisted titles."""
    from cdn.models import EdgePinList
    from cdn.traces import DAY, DEFAULT_START

    outcome = bench.run(
        workdir=tmp_path, keys=10, sessions=80, releases=1, warm_keys=2, seed=3, lists=True
    )
    cold, warm = outcome.cold, outcome.warm
    recorded = {
        (row.edge.name, key)
        for row in EdgePinList.objects.select_related("edge")
        for key in row.keys
    }
    assert recorded
    # Decided as at the fill (`cdn_edge_lists --now`), so warm() found them fresh.
    fill = DEFAULT_START + DAY + bench.FILL_HOUR * 3600
    assert {row.decided_at.timestamp() for row in EdgePinList.objects.all()} == {fill}
    assert outcome.warmed == recorded
    assert warm.requested == cold.requested
    assert not warm.missed & outcome.warmed
    assert warm.total.hits > cold.total.hits
    assert outcome.beats
