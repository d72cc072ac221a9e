"""The learned reuse model sees only the past: features from earlier sessions, training rows
whose label was settled by the training time."""

from __future__ import annotations

import random

import numpy as np

from cdn.reuse_model import NEVER, features, labels, train, training_set

DAY = 86_400.0


def sessions(n: int = 600, seed: int = 3) -> list[tuple[float, str]]:
    rng = random.Random(seed)
    out, ts = [], 1_700_000_000.0
    for _ in range(n):
        ts += rng.expovariate(1 / 900)
        out.append((ts, f"hls/t{min(int(rng.expovariate(1 / 8)), 60)}/v1/"))
    return out


def test_features_of_a_session_do_not_change_whatever_comes_after_it():
    past = sessions()
    other_future = [(t, "hls/t0/v1/") for t, _ in sessions(seed=9)]
    other_future = [(past[-1][0] + 10 + i, k) for i, (_, k) in enumerate(other_future)]
    assert np.array_equal(features(past), features(past + other_future)[: len(past)])


def test_features_on_a_known_sequence():
    rows = features([(0.0, "a"), (1800.0, "a"), (7200.0, "b"), (7200.0 + DAY, "a")])
    assert rows.tolist() == [
        [NEVER, NEVER, 0, 0, 0, 0.0, 0],
        [1800.0, NEVER, 1, 1, 1, 0.5, 0],
        [NEVER, NEVER, 0, 0, 0, 0.0, 2],
        [DAY + 5400.0, DAY + 7200.0, 0, 0, 2, 26.0, 2],
    ]
    assert labels([(0.0, "a"), (1800.0, "a"), (9000.0, "a")], horizon=3600).tolist() == [1, 0, 0]


def test_training_at_a_time_uses_only_labels_settled_by_then():
    trace = sessions()
    until = trace[400][0]
    x, y = training_set(trace, until=until, horizon=DAY)
    # Rewrite everything from `until` on: the training set is the same.
    changed = trace[:400] + [(t, "hls/t999/v1/") for t, _ in trace[400:]]
    x2, y2 = training_set(changed, until=until, horizon=DAY)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    settled = sum(1 for t, _ in trace[:400] if t + DAY <= until)
    assert len(y) == settled


def test_a_trained_model_ranks_titles_seen_often_above_one_offs_and_falls_back_when_empty():
    trace = sessions(2000)
    x, y = training_set(trace, until=trace[-1][0], horizon=DAY)
    model = train(x, y)
    assert model is not None
    hot = features([(float(i * 600), "hot") for i in range(20)])[-1]
    cold = features([(0.0, "cold")])[-1]
    p_hot, p_cold = model.predict(np.stack([hot, cold]))
    assert p_hot > p_cold
    assert train(x[:0], y[:0]) is None
    assert train(x[y == 1], y[y == 1]) is None  # one class: nothing to learn
