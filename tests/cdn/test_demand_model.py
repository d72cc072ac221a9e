"""The learned pin-list ranking sees only the past, falls back to the count rule without a
model, and pins what the edge asks for next where the decayed counts still name the past."""

from __future__ import annotations

import numpy as np

from cdn.admission import EdgePolicy
from cdn.demand_model import (
    FEATURES,
    NEVER_H,
    DecayedCounts,
    build_ranking,
    feature_rows,
    next_sessions_label,
)
from cdn.edge_replay import learned_pins, learned_ranking
from cdn.traces import Request
from tests.cdn.edge_replay import replay_one_edge

DAY = 86_400.0
START = 1_700_006_400.0  # a midnight UTC


def column(name: str) -> int:
    return FEATURES.index(name)


def test_features_on_a_known_sequence():
    # Title 0 on this edge at 0 h and 12 h; title 1 elsewhere at 6 h; asked at 24 h.
    local = DecayedCounts(np.array([0.0, 43_200.0]), np.array([0, 0]), 3)
    glob = DecayedCounts(np.array([0.0, 21_600.0, 43_200.0]), np.array([0, 1, 0]), 3)
    local.advance(DAY)
    glob.advance(DAY)
    rows = feature_rows(local, glob, np.array([0, 1]), edges=2)
    # A day's half-life: the 0 h session weighs 1/2 at 24 h, the 12 h one 1/sqrt(2).
    assert np.isclose(rows[0, column("local_1d")], 0.5 + 2**-0.5)
    assert np.isclose(rows[1, column("global_1d")], 2**-0.75 / 2)  # per edge
    assert rows[:, column("local_gap_h")].tolist() == [12.0, NEVER_H]
    assert rows[:, column("global_gap_h")].tolist() == [12.0, 18.0]
    assert rows[:, column("age_h")].tolist() == [24.0, 18.0]
    assert rows[:, column("hour_of_day")].tolist() == [0.0, 0.0]


def test_features_at_a_moment_do_not_change_whatever_comes_after_it():
    rng = np.random.default_rng(5)
    ts = np.sort(rng.uniform(0, 10 * DAY, 400))
    keys = rng.integers(0, 20, 400)
    at = ts[250] + 1.0
    rewritten = keys.copy()
    rewritten[ts >= at] = 19  # everything from `at` on is another title
    rows = []
    for k in (keys, rewritten):
        local = DecayedCounts(ts[::2], k[::2], 20)
        glob = DecayedCounts(ts, k, 20)
        local.advance(at)
        glob.advance(at)
        rows.append(feature_rows(local, glob, np.arange(20), edges=2))
    assert np.array_equal(rows[0], rows[1])


def test_a_label_counts_the_sessions_within_the_horizon_once_it_has_passed():
    ts, keys = np.array([10.0, 20.0, 30.0, 200.0]), np.array([1, 1, 2, 0])
    y, due = next_sessions_label(ts, keys, 15.0, np.array([0, 1, 2]), horizon=100.0)
    assert y.tolist() == [0.0, 1.0, 1.0] and due == 115.0
    # The edge's log ends before the horizon does: no label yet.
    assert next_sessions_label(ts, keys, 150.0, np.array([0, 1, 2]), horizon=100.0) is None


def sessions(rewrite_from: float | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two edges over 20 days, a few popular titles; with `rewrite_from`, every session from
    then on is of a title nobody played before."""
    rng = np.random.default_rng(7)
    out = {}
    for e in ("a", "b"):
        ts = np.sort(rng.uniform(START, START + 20 * DAY, 600))
        keys = np.minimum(rng.geometric(0.3, 600) - 1, 14)
        if rewrite_from is not None:
            keys[ts >= rewrite_from] = 15
        out[e] = (ts, keys)
    return out


def test_scores_before_a_moment_are_the_same_whatever_happens_after_it():
    # No leakage end to end: models are trained from labels settled by their training time
    # and features from earlier sessions, so rewriting the future changes no earlier score.
    cut = START + 12 * DAY + 3600
    updates = {e: [START + h * 3600.0 for h in range(0, 20 * 24, 5)] for e in ("a", "b")}
    kwargs = {"updates": updates, "titles": 16, "every": 2 * DAY, "horizon": DAY, "rounds": 10}
    real = build_ranking(sessions=sessions(), **kwargs)
    other = build_ranking(sessions=sessions(rewrite_from=cut), **kwargs)
    early = [(e, at) for e in ("a", "b") for at in updates[e] if at <= cut]
    assert real.models and other.models
    assert any(real.score(e, at) is not None for e, at in early)
    for e, at in early:
        mine, theirs = real.score(e, at), other.score(e, at)
        assert (mine is None and theirs is None) or np.array_equal(mine, theirs)
    # ... and the future does change the later ones (the test could fail).
    late = [(e, at) for e in ("a", "b") for at in updates[e] if at > cut + 2 * DAY]
    assert any(not np.array_equal(real.score(e, at), other.score(e, at)) for e, at in late)


def test_before_the_first_model_there_is_no_learned_score():
    updates = {e: [START + h * 3600.0 for h in range(0, 20 * 24, 5)] for e in ("a", "b")}
    ranking = build_ranking(
        sessions=sessions(), updates=updates, titles=16, every=2 * DAY, horizon=DAY, rounds=10
    )
    first = ranking.models[0][0]
    assert ranking.score("a", first - 3600.0) is None
    assert ranking.score("a", first) is not None


def test_members_of_the_list_stay_while_ranked_within_keep_times_its_length():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    titles = np.arange(6)
    assert learned_pins(scores, titles, 2, previous=set(), keep=3.0) == {0, 1}
    # 4 is within the first 3 x 2 ranks: it stays, and the best newcomer fills the rest.
    assert learned_pins(scores, titles, 2, previous={4}, keep=3.0) == {0, 4}
    assert learned_pins(scores, titles, 2, previous={4, 5}, keep=3.0) == {4, 5}
    assert learned_pins(scores, titles, 2, previous={4, 5}, keep=1.0) == {0, 1}


def eras(*, days: int = 12, per_day: int = 12) -> list[Request]:
    """One viewer region, one title at a time: title 0 plays 30 times a day for two days,
    then every two days a new title plays `per_day` times a day and the old one stops."""
    out = []
    for day in range(days):
        title, n = (0, 30) if day < 2 else (day // 2, per_day)
        for i in range(n):
            out.append(Request(START + day * DAY + 3600 * (1 + i % 20) + i, "r0", f"t{title}", 1))
    return out


def edge_hits(trace: list[Request], policy: EdgePolicy, capacity: int) -> tuple[int, object]:
    hits, routed = replay_one_edge(trace, policy, capacity=capacity, chunk_bytes=100)
    return hits.count(1), routed


def test_the_learned_list_pins_the_title_now_in_demand_where_counts_pin_the_old_one():
    # A one-title pin zone. The decayed counts keep naming title 0 (60 plays against each
    # later title's 24), so the count rule hits only in the first two days: 29 + 29.
    counts = EdgePolicy(pin_share=1.0)
    assert edge_hits(eras(), counts, capacity=1)[0] == 58
    # The learned ranking (retrained daily on a day's horizon: ten models over the twelve
    # days) learns that a title played in the last day is played the next, and follows each
    # new title into its era: 114 of the 180 sessions hit.
    learned = EdgePolicy(pin_share=1.0, learned_every=DAY, learned_horizon=DAY, learned_keep=1.0)
    hits, routed = edge_hits(eras(), learned, capacity=1)
    assert len(learned_ranking(routed, learned).models) == 10
    assert hits == 114


def test_with_no_model_yet_the_learned_policy_replays_as_the_count_rule():
    # Retraining every 30 days on a 12-day trace: no model, every list from the count rule.
    trace = eras()
    counts = EdgePolicy(pin_share=1.0)
    never = EdgePolicy(pin_share=1.0, learned_every=30 * DAY, learned_horizon=DAY)
    assert edge_hits(trace, never, capacity=1)[0] == edge_hits(trace, counts, capacity=1)[0]
    assert learned_ranking(edge_hits(trace, never, capacity=1)[1], never).models == []
