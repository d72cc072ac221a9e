"""Training's side-by-side steps: the same results as in order, on more than one thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from recommendations.algorithms import parallel
from recommendations.algorithms.twostage import TwoStage
from recommendations.evaluation import evaluate, rank_users, temporal_split
from recommendations.synthetic import generate


def test_outside_threads_calls_run_in_order_on_the_calling_thread():
    seen: list[tuple[int, str]] = []
    out = parallel.map(
        lambda i: seen.append((i, threading.current_thread().name)) or i * i, [3, 1, 2]
    )
    assert out == [9, 1, 4]
    assert [i for i, _ in seen] == [3, 1, 2]
    assert {name for _, name in seen} == {threading.current_thread().name}
    assert not parallel.active()


def test_inside_threads_calls_overlap_and_results_keep_the_items_order():
    started = threading.Barrier(2, timeout=5)

    def step(i: int) -> tuple[int, str]:
        started.wait()  # both calls must be running at once, or this times out
        time.sleep(0.01 * (2 - i))  # the first item finishes last
        return i, threading.current_thread().name

    with parallel.threads(2):
        assert parallel.active()
        out = parallel.map(step, [0, 1])
    assert [i for i, _ in out] == [0, 1]
    assert out[0][1] != out[1][1]
    assert all(name.startswith("recs-train") for _, name in out)
    assert not parallel.active()


def test_a_map_inside_a_pooled_call_runs_inline_instead_of_waiting_for_the_pool():
    def outer(i: int) -> list[int]:
        assert not parallel.active()
        return parallel.map(lambda j: i * 10 + j, range(3))

    with parallel.threads(2):
        assert parallel.map(outer, range(4)) == [[i * 10 + j for j in range(3)] for i in range(4)]


def test_the_first_failure_is_raised_after_every_call_ended():
    ended: list[int] = []

    def step(i: int) -> int:
        if i == 1:
            raise ValueError("bad batch")
        time.sleep(0.02)
        ended.append(i)
        return i

    with parallel.threads(2), pytest.raises(ValueError, match="bad batch"):
        parallel.map(step, [0, 1, 2, 3])
    assert sorted(ended) == [0, 2, 3]


def test_one_thread_means_in_order():
    with parallel.threads(1):
        assert not parallel.active()
        assert parallel.run(lambda: 1, lambda: 2) == [1, 2]


def test_a_two_stage_model_fitted_and_evaluated_on_threads_is_the_one_fitted_in_order():
    synth = generate(n_users=120, n_items=50, n_interactions=1500, seed=4)
    split = temporal_split(synth.data, holdout=2)
    users = np.arange(split.train.shape[0])
    results = []
    for n in (1, 2):
        with parallel.threads(n):
            model = TwoStage(lambda_=0.0, factors=8, per_source=10, trees=20)
            model.fit(split.train)
            top = rank_users(model, split.train, users, k=10, batch=16)  # 8 batches
            metrics = evaluate(model, split, batch=16)
        results.append((model.params, model.score(split.train.weights), top, metrics))
    (p1, s1, t1, m1), (p2, s2, t2, m2) = results
    assert p1 == p2
    assert np.array_equal(s1, s2)
    assert np.array_equal(t1, t2)
    assert m1 == m2
    assert (t1 >= 0).all()
