"""The evaluation protocol and its metrics on hand-computed tiny examples."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations import algorithms
from recommendations.algorithms import InteractionData, Recommender
from recommendations.evaluation import (
    ap_at_k,
    compare,
    evaluate,
    format_table,
    ndcg_at_k,
    recall_at_k,
    search,
    temporal_split,
    to_json,
)


class Fixed(Recommender):
    """Scores every user the same fixed way: item id order reversed unless told."""

    name: ClassVar[str] = "fixed"
    search_space: ClassVar[list[dict]] = [{"bias": 0}, {"bias": 1}]
    fitted_on: ClassVar[list[int]] = []

    def __init__(self, bias: int = 0, scores: list[float] | None = None) -> None:
        super().__init__(bias=bias)
        self.fixed = np.array(scores) if scores is not None else None

    def fit(self, data):
        self.n_items = data.shape[1]
        Fixed.fitted_on.append(data.nnz)
        if self.fixed is None:
            self.fixed = np.arange(self.n_items, 0, -1, dtype=float)
            if self.params["bias"]:
                self.fixed = self.fixed[::-1].copy()

    def score(self, history, *, users=None, groups=None):
        return np.tile(self.fixed, (history.shape[0], 1))

    def to_arrays(self):
        return {}

    def load_arrays(self, arrays):
        pass


def data_from(rows: list[list[int]]) -> InteractionData:
    """rows[u] = items in the order they were watched (timestamps 1, 2, 3, ...)."""
    users, items, stamps = [], [], []
    for u, seq in enumerate(rows):
        for t, i in enumerate(seq, start=1):
            users.append(u)
            items.append(i)
            stamps.append(float(t))
    n_items = max(max(r) for r in rows if r) + 1
    return InteractionData.from_triples(
        np.array(users),
        np.array(items),
        np.ones(len(users)),
        np.array(stamps),
        shape=(len(rows), n_items),
    )


def test_metrics_match_hand_computation():
    ranked, relevant = [3, 1, 2], {1, 2}
    # DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    assert ndcg_at_k(ranked, relevant, k=3) == pytest.approx(
        (1 / np.log2(3) + 0.5) / (1 + 1 / np.log2(3))
    )
    assert ndcg_at_k(ranked, relevant, k=3) == pytest.approx(0.693426, abs=1e-6)
    assert recall_at_k(ranked, relevant, k=3) == 1.0
    assert recall_at_k(ranked, relevant, k=1) == 0.0
    assert ap_at_k(ranked, relevant, k=3) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert ndcg_at_k([1, 2], {1, 2}, k=3) == 1.0
    assert ndcg_at_k([5], set(), k=3) == 0.0


def test_temporal_split_holds_out_each_users_newest_interactions():
    data = data_from([[0, 1, 2, 3], [4, 2], [1]])
    split = temporal_split(data, holdout=2)
    # user 0 keeps its two oldest; user 1 would keep nothing if both held out: keeps all
    assert split.test.toarray().astype(int).tolist() == [
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    assert split.train.weights.toarray().astype(int).tolist() == [
        [1, 1, 0, 0, 0],
        [0, 0, 1, 0, 1],
        [0, 1, 0, 0, 0],
    ]


def test_temporal_split_by_fraction():
    data = data_from([[0, 1, 2, 3, 4], [0, 1]])
    split = temporal_split(data, holdout_fraction=0.4)
    assert split.test.toarray().astype(int).tolist() == [[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]]


def test_evaluate_ranks_all_allowed_items_excluding_seen_with_exact_metrics():
    # user 0 saw 0, held out 1; user 1 saw 2, held out 3. Fixed ranking: 4 > 3 > 2 > 1 > 0
    data = data_from([[0, 1], [2, 3], [4]])
    split = temporal_split(data, holdout=1)
    model = Fixed(scores=[0.0, 1.0, 2.0, 3.0, 4.0])
    model.fit(split.train)
    m = evaluate(model, split, k=2)
    # user 0 top2 = [4, 3] (no hit); user 1 top2 = [4, 3] (3 at rank 2; seen 2 excluded)
    assert m.users == 2
    assert m.ndcg == pytest.approx((0 + 1 / np.log2(3)) / 2)
    assert m.recall == pytest.approx(0.5)
    assert m.map == pytest.approx(0.25)
    assert m.coverage == pytest.approx(2 / 5)
    # disallow item 4: user 0 gets [3, 2] (no hit), user 1 gets [3, 1] (hit first)
    allowed = np.array([True, True, True, True, False])
    m = evaluate(model, split, k=2, allowed=allowed)
    assert m.ndcg == pytest.approx(0.5)
    assert m.recall == pytest.approx(0.5)
    assert m.map == pytest.approx(0.5)
    assert m.coverage == pytest.approx(3 / 4)


def test_held_out_items_not_allowed_for_a_user_are_not_counted():
    data = data_from([[0, 1], [2, 3]])
    split = temporal_split(data, holdout=1)
    model = Fixed(scores=[0.0, 1.0, 2.0, 3.0])
    model.fit(split.train)
    allowed = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=bool))
    m = evaluate(model, split, k=1, allowed=allowed)
    # user 1's held-out item 3 is not available to them: only user 0 is evaluated
    assert m.users == 1
    assert m.ndcg == 0.0  # user 0's top-1 is item 3, held out was 1


def test_search_chooses_on_validation_and_never_fits_on_the_test_holdout(monkeypatch):
    monkeypatch.setitem(algorithms.ALGORITHMS, "fixed", Fixed)
    Fixed.fitted_on = []
    # newest item per user is high-numbered: bias=1 (higher ids first) wins validation
    data = data_from([[0, 1, 5, 6], [0, 2, 5, 7], [1, 2, 6, 7]])
    split = temporal_split(data, holdout=1)
    result = search("fixed", split.train, holdout=1)
    assert result.best_params == {"bias": 1}
    assert [t["params"] for t in result.trials] == [{"bias": 0}, {"bias": 1}]
    # 12 interactions, 3 held out for test, 3 more for validation: fits saw 6, never 9+
    assert Fixed.fitted_on == [6, 6]


def test_compare_reports_every_algorithm_as_table_and_json(monkeypatch):
    monkeypatch.setitem(algorithms.ALGORITHMS, "fixed", Fixed)
    data = data_from([[0, 1, 5, 6], [0, 2, 5, 7], [1, 2, 6, 7]])
    _, rows = compare(data, [("fixed", {"bias": 0}), ("fixed", None)], holdout=1)
    assert [r.validated for r in rows] == [False, True]
    assert rows[1].params == {"bias": 1}
    table = format_table(rows)
    assert table.splitlines()[0] == (
        "| algorithm | NDCG@10 | Recall@10 | MAP@10 | coverage | train s | params |"
    )
    assert "bias=1 (validated)" in table.splitlines()[3]
    payload = json.loads(to_json(rows, holdout=1))
    assert payload["holdout"] == 1
    assert [r["params"] for r in payload["results"]] == [{"bias": 0}, {"bias": 1}]
    assert set(payload["results"][0]["metrics"]) == {
        "ndcg@10",
        "recall@10",
        "map@10",
        "coverage",
        "users",
    }


def test_a_lambda_search_splits_once_and_builds_one_gram(monkeypatch):
    from recommendations.algorithms import ease
    from recommendations.evaluation import search, temporal_split
    from recommendations.synthetic import generate

    data = generate(n_users=40, n_items=30, n_interactions=600, seed=4).data
    grams = []
    real = ease.gram_of
    monkeypatch.setattr(ease, "gram_of", lambda x: grams.append(x.shape) or real(x))
    result = search("ease", data, holdout=2)
    assert len(result.trials) >= 3  # several lambdas fitted ...
    assert len(grams) == 1  # ... from one Gram of the validation part
    assert temporal_split(data, holdout=2) is temporal_split(data, holdout=2)
    assert temporal_split(data, holdout=1) is not temporal_split(data, holdout=2)
    # a model fitted on that validation part afterwards (the two-stage carve) reuses it too
    ease.EASE(lambda_=result.best_params["lambda_"]).fit(temporal_split(data, holdout=2).train)
    assert len(grams) == 1


def test_a_two_stage_fit_takes_its_ease_source_from_the_lambda_search(monkeypatch):
    """The search validates on the carve-off the ranker is trained on: its winning EASE is
    that carve's EASE source, not fitted a second time."""
    from recommendations.algorithms import ease
    from recommendations.algorithms.twostage import TwoStage
    from recommendations.evaluation import search
    from recommendations.synthetic import generate

    data = generate(n_users=40, n_items=30, n_interactions=600, seed=4).data
    fits = []
    real = ease.ease_weights
    monkeypatch.setattr(ease, "ease_weights", lambda g, lam: fits.append(lam) or real(g, lam))
    trials = len(search("ease", data, holdout=2, patience=1).trials)
    fits.clear()

    model = TwoStage(factors=4, per_source=5, label_holdout=2, trees=5)
    model.fit(data)
    # the search's trials on the carve, then one refit on all of `data`; no carve refit
    assert len(fits) == trials + 1
    assert model.params["lambda_"] == fits[-1] > 0


LAMBDAS = [10, 50, 100, 250, 500, 1000, 2500]  # EASE's ordered space; its default is 250


def _walk(scores: dict[int, float], start: int, patience: int) -> list[int]:
    """The lambdas `_ordered_walk` tries when validation scores them as `scores` says."""
    from recommendations.evaluation import _ordered_walk

    tried: list[int] = []
    best = [float("-inf")]

    def trial(params: dict) -> bool:
        tried.append(params["lambda_"])
        if scores[params["lambda_"]] > best[0]:
            best[0] = scores[params["lambda_"]]
            return True
        return False

    _ordered_walk([{"lambda_": lam} for lam in LAMBDAS], start, patience, trial)
    return tried


def _peak_at(peak: int) -> dict[int, float]:
    return {lam: -abs(LAMBDAS.index(lam) - LAMBDAS.index(peak)) for lam in LAMBDAS}


def test_an_ordered_search_climbs_from_the_default_towards_the_peak():
    default = LAMBDAS.index(250)
    # the peak next below the default (MovieLens): down one, one past it, and never up
    assert _walk(_peak_at(100), default, patience=1) == [250, 100, 50]
    # the peak at the default: one step each way
    assert _walk(_peak_at(250), default, patience=1) == [250, 100, 500]
    assert _walk(_peak_at(250), default, patience=2) == [250, 100, 50, 500, 1000]
    # above it: down finds nothing better, so up until one past the peak
    assert _walk(_peak_at(1000), default, patience=1) == [250, 100, 500, 1000, 2500]
    # at an end of the space: the walk stops there
    assert _walk(_peak_at(10), default, patience=1) == [250, 100, 50, 10]
    # from the bottom it is the plain walk up, stopping `patience` trials past the best
    assert _walk(_peak_at(100), 0, patience=1) == [10, 50, 100, 250]
    assert _walk(_peak_at(100), 0, patience=2) == [10, 50, 100, 250, 500]


def test_a_lambda_search_starts_at_the_default_and_its_choice_is_the_best_tried():
    from recommendations.evaluation import search
    from recommendations.synthetic import generate

    data = generate(n_users=40, n_items=30, n_interactions=600, seed=4).data
    result = search("ease", data, holdout=2, patience=1)
    assert result.trials[0]["params"] == {"lambda_": 250.0}  # EASE's default
    best = max(result.trials, key=lambda t: t["ndcg@10"])  # the first of any ties
    assert result.best_params == best["params"]


def test_an_unordered_space_is_tried_whole(monkeypatch):
    monkeypatch.setitem(algorithms.ALGORITHMS, "fixed", Fixed)
    data = temporal_split(data_from([[0, 1, 5, 6], [0, 2, 5, 7], [1, 2, 6, 7]]), holdout=1).train
    assert len(search("fixed", data, holdout=1, patience=1).trials) == 2
