"""The algorithms on hand-computed tiny inputs, planted-structure data and random matrices."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommendations.algorithms import (
    EASE,
    ImplicitALS,
    InteractionData,
    ItemKNN,
    Popularity,
    build,
    dumps,
    loads,
    top_k,
)
from recommendations.evaluation import compare
from recommendations.synthetic import generate

DAY = 86400.0


def tiny(rows: list[list[float]], stamps: list[list[float]] | None = None, groups=None):
    w = np.array(rows, dtype=np.float32)
    u, i = np.nonzero(w)
    t = np.array(stamps, dtype=np.float64)[u, i] if stamps else np.arange(u.size, dtype=float)
    return InteractionData.from_triples(
        u, i, w[u, i], t, shape=w.shape, groups=None if groups is None else np.array(groups)
    )


def test_ease_weights_match_the_closed_form_by_hand():
    # X'X = [[2,1],[1,1]]; + lambda=1: [[3,1],[1,2]]; P = 1/5 [[2,-1],[-1,3]]
    model = EASE(lambda_=1.0)
    model.fit(tiny([[1, 1], [1, 0]]))
    assert model.B[0, 0] == 0.0
    assert model.B[1, 1] == 0.0
    assert model.B[0, 1] == pytest.approx(1 / 3, rel=1e-6)  # -P01 / P11
    assert model.B[1, 0] == pytest.approx(1 / 2, rel=1e-6)  # -P10 / P00
    # row order: `history @ B` reads it without a copy per call
    assert model.B.flags.c_contiguous


def test_itemknn_similarity_is_shrunk_cosine_by_hand():
    # binary-ish history after log1p(1) = ln 2 for every entry
    model = ItemKNN(neighbours=10, shrink=1.0)
    model.fit(tiny([[1, 1, 0], [1, 0, 1], [1, 1, 0]]))
    a = np.log(2.0) ** 2
    # items 0 and 1 co-occur twice; |x0| = sqrt(3a), |x1| = sqrt(2a)
    expected_01 = 2 * a / (np.sqrt(3 * a) * np.sqrt(2 * a) + 1.0)
    expected_12 = 0.0
    sim = model.similarity.toarray()
    assert sim[0, 1] == pytest.approx(expected_01, rel=1e-5)
    assert sim[1, 2] == expected_12
    assert sim[0, 0] == 0.0


def test_itemknn_keeps_only_the_top_neighbours():
    model = ItemKNN(neighbours=1, shrink=0.0)
    model.fit(tiny([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 0, 1]]))
    assert model.similarity.getnnz(axis=1).tolist() == [1, 1, 1, 1]
    assert int(model.similarity[0].indices[0]) == 1


@pytest.mark.parametrize("shrink", [0.0, 10.0])
def test_itemknn_keeps_each_items_k_best_shrunk_cosines_as_computed_by_brute_force(shrink):
    """The blockwise fit (in-place division with shrinkage, the masked one without) against
    every pair computed one by one, on weights with repeats and items nobody watched."""
    rng = np.random.default_rng(11)
    weights = rng.integers(0, 3, size=(30, 25)) * (rng.random((30, 25)) < 0.3)
    weights[:, 7] = 0  # a title nobody watched: no neighbours, neighbour of none
    model = ItemKNN(neighbours=4, shrink=shrink)
    model.fit(tiny(weights.tolist()))
    x = np.log1p(weights.astype(np.float64))
    norms = np.sqrt((x * x).sum(axis=0))
    got = model.similarity.toarray()
    for i in range(25):
        sims = {
            j: (x[:, i] @ x[:, j]) / (norms[i] * norms[j] + shrink)
            for j in range(25)
            if j != i and x[:, i] @ x[:, j] > 0
        }
        best = sorted(sims, key=lambda j: (-np.float32(sims[j]), j))[:4]
        assert np.flatnonzero(got[i]).tolist() == sorted(best)
        for j in best:
            assert got[i, j] == pytest.approx(sims[j], rel=1e-5)


def test_itemknn_top_k_mask_is_each_rows_k_best_ties_to_the_lowest_columns():
    from recommendations.algorithms import itemknn

    rng = np.random.default_rng(5)
    candidate = rng.random((40, 12)) < 0.7
    # positive on candidates (many ties), 0 elsewhere, as item-kNN's similarity
    sim = np.where(candidate, rng.integers(1, 4, size=(40, 12)), 0).astype(np.float32)
    for k in (1, 3, 5, 11, 12):  # 12: rows with fewer candidates than k
        got = itemknn._top_k_mask(sim, k)
        for i in range(40):
            cells = np.flatnonzero(candidate[i])
            # brute force: best value first, then the lowest column
            order = sorted(cells.tolist(), key=lambda j: (-sim[i, j], j))[:k]
            assert np.flatnonzero(got[i]).tolist() == sorted(order)


def test_popularity_decays_by_half_life_and_ranks_per_country():
    now = 100 * DAY
    # item 0: weight 1 today (1.0); item 1: weight 2 one half-life ago (1.0); item 2: 3 two ago
    data = tiny(
        [[1, 0, 0], [0, 2, 0], [0, 0, 3]],
        stamps=[[now, 0, 0], [0, now - DAY, 0], [0, 0, now - 2 * DAY]],
        groups=[0, 0, 1],
    )
    model = Popularity(half_life_days=1.0, group_blend=1.0)
    model.fit(data)
    assert model.overall.tolist() == pytest.approx([1.0, 1.0, 0.75])
    assert model.by_group[1].tolist() == pytest.approx([0.0, 0.0, 0.75])
    empty = sp.csr_matrix((1, 3))
    recs = model.recommend(empty, k=3, group=1)
    assert [r.item for r in recs] == [2, 0, 1]


def test_top_k_orders_by_score_then_item_and_skips_banned():
    scores = np.array([0.5, 0.9, 0.9, 0.1, 0.7])
    assert top_k(scores, k=3).tolist() == [1, 2, 4]
    assert top_k(scores, k=3, seen=np.array([1])).tolist() == [2, 4, 0]
    allowed = np.array([True, False, True, True, False])
    assert top_k(scores, k=5, allowed=allowed).tolist() == [2, 0, 3]
    exclude = np.array([False, False, True, False, False])
    assert top_k(scores, k=2, exclude=exclude).tolist() == [1, 4]


@pytest.fixture(scope="module")
def planted():
    return generate(n_users=300, n_items=400, n_interactions=15_000, n_clusters=8, seed=3)


def test_collaborative_models_beat_popularity_by_a_clear_margin_on_planted_data(planted):
    _, rows = compare(
        planted.data,
        [("popularity", {}), ("itemknn", {}), ("ease", {}), ("als", {"factors": 32})],
        holdout=3,
    )
    ndcg = {r.algorithm: r.metrics["ndcg@10"] for r in rows}
    assert ndcg["ease"] >= 1.5 * ndcg["popularity"], ndcg
    assert ndcg["itemknn"] >= 1.5 * ndcg["popularity"], ndcg
    assert ndcg["als"] >= 1.2 * ndcg["popularity"], ndcg


@pytest.mark.parametrize("algorithm", ["popularity", "itemknn", "ease", "als"])
def test_artifact_round_trip_gives_identical_scores(planted, algorithm):
    model = build(algorithm, {"factors": 8} if algorithm == "als" else {})
    model.fit(planted.data)
    again, extra = loads(dumps(model, {"item_ids": np.arange(3)}))
    history = planted.data.weights[:5]
    users = np.arange(5)
    groups = planted.data.groups[:5]
    assert np.array_equal(
        model.score(history, users=users, groups=groups),
        again.score(history, users=users, groups=groups),
    )
    assert extra["item_ids"].tolist() == [0, 1, 2]
    assert again.params == model.params


def test_unknown_algorithm_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown algorithm 'bogus'; choose one of als, ease"):
        build("bogus")


@pytest.mark.parametrize("algorithm", ["itemknn", "ease"])
def test_explanation_names_the_history_item_that_drives_the_score(algorithm):
    # items 0-1 always together, 2-3 always together
    rows = [[1, 1, 0, 0]] * 4 + [[0, 0, 1, 1]] * 4
    model = build(algorithm)
    model.fit(tiny(rows))
    history = sp.csr_matrix(np.array([[1, 0, 1, 0]], dtype=np.float32))
    recs = model.recommend(history, k=2, explain=True)
    assert sorted(r.item for r in recs) == [1, 3]
    because = {r.item: r.because for r in recs}
    assert because == {1: [0], 3: [2]}


def test_als_fold_in_scores_a_new_user_without_refitting(planted):
    model = ImplicitALS(factors=16, iterations=10)
    model.fit(planted.data)
    cluster = 0
    items = np.flatnonzero(planted.item_cluster == cluster)
    history = sp.csr_matrix(
        (np.ones(10, dtype=np.float32), (np.zeros(10, dtype=int), items[:10])),
        shape=(1, planted.data.shape[1]),
    )
    recs = model.recommend(history, k=10)
    in_cluster = sum(planted.item_cluster[r.item] == cluster for r in recs)
    assert in_cluster >= 7
    assert not {r.item for r in recs} & set(items[:10].tolist())


@st.composite
def matrices_and_masks(draw):
    n_users = draw(st.integers(2, 8))
    n_items = draw(st.integers(2, 12))
    cells = draw(
        st.lists(
            st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)),
            min_size=1,
            max_size=n_users * n_items,
            unique=True,
        )
    )
    allowed = draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items))
    exclude = draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items))
    user = draw(st.integers(0, n_users - 1))
    k = draw(st.integers(1, n_items))
    return n_users, n_items, cells, np.array(allowed), np.array(exclude), user, k


@pytest.mark.parametrize("algorithm", ["popularity", "itemknn", "ease", "als"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=matrices_and_masks())
def test_recommendations_never_include_seen_excluded_or_disallowed_items(algorithm, case):
    n_users, n_items, cells, allowed, exclude, user, k = case
    u = np.array([c[0] for c in cells])
    i = np.array([c[1] for c in cells])
    data = InteractionData.from_triples(
        u, i, np.ones(u.size), np.arange(u.size, dtype=float), shape=(n_users, n_items)
    )
    params = {"factors": 4, "iterations": 2} if algorithm == "als" else {}
    model = build(algorithm, params)
    model.fit(data)
    history = data.weights[user]
    recs = model.recommend(
        history, k=k, exclude=exclude, allowed=allowed, user=user, group=0, explain=True
    )
    got = [r.item for r in recs]
    seen = set(history.indices.tolist())
    permitted = [j for j in range(n_items) if allowed[j] and not exclude[j] and j not in seen]
    assert len(got) == min(k, len(permitted))
    assert set(got) <= set(permitted)
    assert len(set(got)) == len(got)
    for r in recs:
        assert set(r.because) <= seen


@pytest.mark.parametrize("density", [0.02, 0.3])
def test_itemknn_gives_the_same_similarity_dense_sparse_and_block_by_block(density, monkeypatch):
    from recommendations.algorithms import itemknn

    rng = np.random.default_rng(5)
    w = (rng.random((60, 45)) < density) * rng.integers(1, 4, size=(60, 45))
    data = tiny(w.tolist())
    x = itemknn._history_matrix(data.weights)
    gram = (x.T @ x).toarray()
    norms = np.sqrt(np.diag(gram))
    want = gram / (np.outer(norms, norms) + 3.0)
    np.fill_diagonal(want, 0)
    results = []
    for dense, block in ((True, 10**6), (False, 10**6), (True, 45 * 7), (False, 45 * 7)):
        monkeypatch.setattr(itemknn, "dense_gram_pays", lambda x, dense=dense: dense)
        monkeypatch.setattr(itemknn, "BLOCK_CELLS", block)
        model = ItemKNN(neighbours=200, shrink=3.0)  # more than there are items: nothing pruned
        model.fit(data)
        results.append(model.similarity.toarray())
    for got in results:
        assert np.allclose(got, want, atol=1e-6)
    # pruned to 3 a row, block by block, each row keeps its 3 largest
    monkeypatch.setattr(itemknn, "BLOCK_CELLS", 45 * 4)
    model = ItemKNN(neighbours=3, shrink=3.0)
    model.fit(data)
    got = model.similarity.toarray()
    for i in range(45):
        kept = np.flatnonzero(got[i])
        assert kept.size == min(3, np.count_nonzero(want[i]))
        if kept.size:
            assert got[i, kept].min() >= np.sort(want[i])[-3] - 1e-6


def test_gram_is_the_same_dense_or_sparse(monkeypatch):
    from recommendations.algorithms import ease

    x = sp.csr_matrix((np.random.default_rng(2).random((30, 20)) < 0.2).astype(np.float64))
    monkeypatch.setattr(ease, "dense_gram_pays", lambda x: True)
    dense = ease.gram_of(x)
    monkeypatch.setattr(ease, "dense_gram_pays", lambda x: False)
    assert np.array_equal(dense, ease.gram_of(x))
    assert np.array_equal(dense, (x.T @ x).toarray().astype(np.float32))


def test_triples_come_in_user_then_item_order_however_the_matrices_were_built():
    d = tiny([[0, 2, 1], [3, 0, 0], [0, 0, 4]], stamps=[[0, 5, 6], [7, 0, 0], [0, 0, 8]])
    fast = d.triples()
    # the same data with unsorted CSR indices takes the general path
    w = d.weights.copy()
    w.indices[:2] = w.indices[:2][::-1].copy()
    w.data[:2] = w.data[:2][::-1].copy()
    w.has_sorted_indices = False
    slow = InteractionData(weights=w, timestamps=d.timestamps).triples()
    for a, b in zip(fast, slow, strict=True):
        assert a.tolist() == b.tolist()
    assert fast[0].tolist() == [0, 0, 1, 2] and fast[1].tolist() == [1, 2, 0, 2]
    assert fast[3].tolist() == [5.0, 6.0, 7.0, 8.0]


@pytest.mark.parametrize("n", [1, 7, 16, 17, 40])
def test_eases_inverse_is_symmetric_across_block_edges(n):
    from recommendations.algorithms.ease import _mirror_upper, _spd_inverse

    a = np.random.default_rng(n).random((n, n))
    want = np.triu(a) + np.triu(a, 1).T
    _mirror_upper(a, block=8)
    assert np.array_equal(a, want)
    m = np.random.default_rng(1).random((n, n))
    spd = m @ m.T + n * np.eye(n)
    assert np.allclose(_spd_inverse(spd.copy()), np.linalg.inv(spd), atol=1e-9)


def test_the_dense_or_sparse_gram_rule_follows_the_work_each_product_does():
    from recommendations.algorithms.base import dense_gram_pays

    # 20 users x 30 items, every user with all 30: sparse does 20 x 900, dense 20 x 900
    assert dense_gram_pays(sp.csr_matrix(np.ones((20, 30))))
    # one interaction each among 3,000 items: sparse does 20 multiplications, dense 180 M
    one_each = sp.csr_matrix((np.ones(20), (np.arange(20), np.arange(20))), shape=(20, 3000))
    assert not dense_gram_pays(one_each)
    # past the dense size, never dense
    assert not dense_gram_pays(sp.csr_matrix((10_000, 3_000)))
