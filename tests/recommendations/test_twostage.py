"""The two-stage recommender: each candidate source, the feature builder, no leakage, artifacts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.algorithms import EASE, InteractionData, Popularity, dumps, loads
from recommendations.algorithms.twostage import (
    FEATURES,
    MONTH,
    YEAR,
    Context,
    TwoStage,
    _Ranking,
    latest_history,
    sample_negatives,
)
from recommendations.evaluation import evaluate, temporal_split
from recommendations.synthetic import generate

T0 = 1_000_000_000.0


def data_of(rows: dict[int, list[tuple[int, float]]], n_items: int, **extra) -> InteractionData:
    """rows[u] = [(item, unix time), ...]; weight 1 each."""
    u = [user for user, seq in rows.items() for _ in seq]
    i = [item for seq in rows.values() for item, _ in seq]
    t = [at for seq in rows.values() for _, at in seq]
    return InteractionData.from_triples(
        np.array(u), np.array(i), np.ones(len(u)), np.array(t), shape=(len(rows), n_items), **extra
    )


def col(name: str) -> int:
    return FEATURES.index(name)


def test_latest_history_keeps_each_users_newest_n():
    d = data_of({0: [(0, 1.0), (1, 3.0), (2, 2.0)], 1: [(3, 5.0)]}, 4)
    assert latest_history(d, 2).toarray().tolist() == [[0, 1, 1, 0], [0, 0, 0, 1]]
    assert latest_history(d, 1).toarray().tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]


def test_context_counts_plays_per_month_before_a_time():
    # item 0: plays in months 0, 0, 2; item 1: month 1
    d = data_of(
        {
            0: [(0, T0), (1, T0 + 1.5 * MONTH)],
            1: [(0, T0 + 10.0)],
            2: [(0, T0 + 2.5 * MONTH)],
        },
        2,
    )
    ctx = Context.fit(d)
    assert ctx.plays.tolist() == [3.0, 1.0]
    at = np.array([T0 + 2.2 * MONTH, T0 + 0.5 * MONTH])
    # the month containing `at` and the one before it
    assert ctx.plays_before(at, 2).tolist() == [[1.0, 1.0], [2.0, 0.0]]
    assert ctx.plays_before(at, 1).tolist() == [[1.0, 0.0], [2.0, 0.0]]


def genres_of(pairs: list[list[int]], n_genres: int) -> sp.csr_matrix:
    g = np.zeros((len(pairs), n_genres), dtype=np.float32)
    for item, genres in enumerate(pairs):
        g[item, genres] = 1.0
    return sp.csr_matrix(g)


def small() -> InteractionData:
    """5 items: user 0 watched 0, 1; user 1 watched 0, 2; user 2 watched 1, 2, 3."""
    return data_of(
        {
            0: [(0, T0), (1, T0 + 60)],
            1: [(0, T0 + 120), (2, T0 + 180)],
            2: [(1, T0 + 240), (2, T0 + 300), (3, T0 + 360)],
        },
        5,
        item_genres=genres_of([[0], [0], [1], [1], [0, 1]], 2),
        item_released=np.array([T0 - 5 * YEAR, T0 - 5 * YEAR, T0, T0 - 0.5 * YEAR, np.nan]),
    )


def fitted_sources(model: TwoStage, d: InteractionData):
    sources = model._new_sources(10.0)
    for m in sources.values():
        m.fit(d)
    return sources, Context.fit(d)


def test_each_source_puts_its_own_top_n_into_the_candidates_and_never_a_seen_title():
    d = small()
    model = TwoStage(per_source=1)
    sources, ctx = fitted_sources(model, d)
    history = d.weights[[0]]
    at = np.array([T0 + 400.0])
    cands = model.candidates(sources, ctx, history, at=at, users=np.array([0]))
    unseen = np.array([2, 3, 4])
    expected = set()
    for name in ("ease", "als", "itemknn", "popularity"):
        s = np.asarray(sources[name].score(history, users=np.array([0])))[0]
        expected.add(int(unseen[np.lexsort((unseen, -s[unseen]))][0]))
    # recent releases: only title 2 (out at T0) and 3 (half a year) qualify; 2 has more plays
    expected.add(2)
    assert set(cands.items.tolist()) == expected
    assert not {0, 1} & set(cands.items.tolist())
    assert cands.rows.tolist() == [0] * len(expected)
    # every candidate has a rank under per_source in at least one source
    rank_cols = [col(f"{s}_rank") for s in ("ease", "als", "itemknn", "popularity", "recent")]
    assert (cands.features[:, rank_cols].min(axis=1) == 0).all()


def test_recent_release_source_ranks_recent_titles_by_recent_plays():
    d = small()
    model = TwoStage(per_source=5)
    sources, ctx = fitted_sources(model, d)
    cands = model.candidates(sources, ctx, d.weights[[0]], at=np.array([T0 + 400.0]))
    by_item = dict(zip(cands.items.tolist(), cands.features.tolist(), strict=True))
    # title 2: 2 plays in the last 3 months; title 3: 1; title 4 (release unknown): not recent
    assert by_item[2][col("recent_score")] == 2.0
    assert by_item[3][col("recent_score")] == 1.0
    assert by_item[4][col("recent_score")] == -1.0
    assert by_item[2][col("recent_rank")] == 0.0
    assert by_item[3][col("recent_rank")] == 1.0


def test_feature_builder_values_by_hand():
    d = small()
    model = TwoStage(per_source=5)
    sources, ctx = fitted_sources(model, d)
    at = np.array([T0 + 400.0])
    cands = model.candidates(sources, ctx, d.weights[[0]], at=at, users=np.array([0]))
    assert sorted(cands.items.tolist()) == [2, 3, 4]
    f = dict(zip(cands.items.tolist(), cands.features.tolist(), strict=True))
    # user 0 watched two genre-0 titles: profile (2, 0); title 4 is genres 0+1 (unit: .707 each)
    assert f[2][col("genre_affinity")] == pytest.approx(0.0)
    assert f[4][col("genre_affinity")] == pytest.approx(1 / np.sqrt(2))
    assert f[3][col("release_age_years")] == pytest.approx((400.0 + 0.5 * YEAR) / YEAR)
    assert np.isnan(f[4][col("release_age_years")])
    assert f[2][col("title_plays_log")] == pytest.approx(np.log1p(2))
    assert f[4][col("title_plays_log")] == 0.0
    assert f[2][col("profile_activity_log")] == pytest.approx(np.log1p(2))
    # T0 + 400 s = 2001-09-09 01:53:20 UTC, a Sunday (6)
    assert f[2][col("hour")] == pytest.approx(1 + 53 / 60 + 20 / 3600)
    assert f[2][col("weekday")] == 6.0
    ease = EASE(lambda_=10.0)
    ease.fit(d)
    assert f[3][col("ease_score")] == pytest.approx(float(ease.score(d.weights[[0]])[0, 3]))
    pop = Popularity()
    pop.fit(d)
    assert f[2][col("popularity_score")] == pytest.approx(float(pop.score(d.weights[[0]])[0, 2]))


def test_ranker_training_rows_use_only_interactions_before_the_held_out_ones():
    """Change what each user watched last (the labels): the features do not move."""
    synth = generate(n_users=60, n_items=40, n_interactions=700, seed=3)
    base = synth.data
    model = TwoStage(lambda_=50.0, factors=8, per_source=10, label_holdout=2)
    _s, _c, cands, labels = model.training_frame(base)
    carve = temporal_split(base, holdout=2)
    held = carve.test.tocoo()
    # move every held-out interaction to another item the user never touched, same time
    u, i, w, t = base.triples()
    pairs = set(zip(u.tolist(), i.tolist(), strict=True))
    held_pairs = set(zip(held.row.tolist(), held.col.tolist(), strict=True))
    new_i = i.copy()
    for n, (user, item) in enumerate(zip(u.tolist(), i.tolist(), strict=True)):
        if (user, item) in held_pairs:
            for other in range(base.shape[1]):
                if (user, other) not in pairs:
                    pairs.add((user, other))
                    new_i[n] = other
                    break
    changed = InteractionData.from_triples(u, new_i, w, t, shape=base.shape, groups=base.groups)
    other = TwoStage(lambda_=50.0, factors=8, per_source=10, label_holdout=2)
    _s2, _c2, cands2, labels2 = other.training_frame(changed)
    assert np.array_equal(cands.rows, cands2.rows)
    assert np.array_equal(cands.items, cands2.items)
    assert np.array_equal(cands.features, cands2.features, equal_nan=True)
    assert not np.array_equal(labels, labels2)
    assert labels.sum() > 0


def test_two_stage_fits_ranks_and_round_trips_through_its_artifact():
    synth = generate(n_users=80, n_items=40, n_interactions=900, seed=1)
    split = temporal_split(synth.data, holdout=2)
    model = TwoStage(lambda_=0.0, factors=8, per_source=10, trees=20)
    model.fit(split.train)
    assert model.params["lambda_"] in {10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0}
    m = evaluate(model, split)
    assert m.users == 80
    history = split.train.weights[:5]
    again, _extra = loads(dumps(model))
    assert np.allclose(again.score(history), model.score(history))
    recs = again.recommend(split.train.weights[0], k=5)
    seen = set(split.train.weights[0].indices.tolist())
    assert len(recs) == 5
    assert not seen & {r.item for r in recs}


def side(entries: list[tuple[int, int, float]], shape: tuple[int, int]) -> sp.csr_matrix:
    """(user, item, unix time) entries as a users x items matrix of times."""
    u, i, t = zip(*entries, strict=True) if entries else ((), (), ())
    return sp.csr_matrix((np.array(t, dtype=np.float64), (u, i)), shape=shape)


def test_continue_watching_source_scores_from_unfinished_titles_up_to_the_viewers_time():
    d = small()
    model = TwoStage(per_source=5)
    sources, ctx = fitted_sources(model, d)
    at = np.array([T0 + 400.0, T0 + 400.0])
    # user 0 started title 2 before `at`; user 1 started title 3 only after it
    unfinished = side([(0, 2, T0 + 100.0), (1, 3, T0 + 900.0)], (2, 5))
    cands = model.candidates(
        sources, ctx, d.weights[[0, 1]], at=at, users=np.array([0, 1]), unfinished=unfinished
    )
    ease_from_2 = np.asarray(sources["ease"].score(sp.csr_matrix(([1.0], ([0], [2])), (1, 5))))[0]
    feats = {
        (int(r), int(i)): f
        for r, i, f in zip(cands.rows, cands.items, cands.features.tolist(), strict=True)
    }
    for item in (2, 3, 4):
        assert feats[(0, item)][col("continue_score")] == pytest.approx(ease_from_2[item])
    unseen = np.array([2, 3, 4])
    best = int(unseen[np.lexsort((unseen, -ease_from_2[unseen]))][0])
    assert feats[(0, best)][col("continue_rank")] == 0.0
    # user 1's only unfinished title is later than its time: no Continue Watching at all
    user1 = [f for (r, _i), f in feats.items() if r == 1]
    assert user1
    assert {f[col("continue_rank")] for f in user1} == {5.0}
    assert {f[col("continue_score")] for f in user1} == {0.0}


def test_in_my_list_feature_counts_only_titles_added_by_the_viewers_time():
    d = small()
    model = TwoStage(per_source=5)
    sources, ctx = fitted_sources(model, d)
    my_list = side([(0, 4, T0 + 50.0), (0, 3, T0 + 500.0)], (1, 5))
    cands = model.candidates(
        sources,
        ctx,
        d.weights[[0]],
        at=np.array([T0 + 400.0]),
        users=np.array([0]),
        my_list=my_list,
    )
    f = dict(zip(cands.items.tolist(), cands.features[:, col("in_my_list")].tolist(), strict=True))
    assert f == {2: 0.0, 3: 0.0, 4: 1.0}


def test_side_signals_survive_a_split_and_never_reach_past_the_carve():
    d = small()
    d.my_list = side([(2, 4, T0 + 250.0), (2, 0, T0 + 1000.0)], (3, 5))
    split = temporal_split(d, holdout=1)
    assert split.train.my_list is d.my_list
    from recommendations.algorithms.twostage import as_of

    # user 2's newest training interaction is at T0 + 300: title 0, added later, is not there
    got = as_of(split.train.my_list, np.array([0.0, 0.0, T0 + 300.0]), shape=(3, 5))
    assert got.toarray().tolist() == [[0] * 5, [0] * 5, [0, 0, 0, 0, 1]]


def test_negative_sampling_keeps_every_positive_and_k_negatives_per_query():
    # query 0: 2 positives, 5 negatives; query 1: no positive; query 2: 1 positive, 2 negatives
    rows = np.array([0] * 7 + [1] * 4 + [2] * 3)
    labels = np.array([1, 0, 0, 1, 0, 0, 0] + [0] * 4 + [0, 1, 0], dtype=np.float32)
    keep = sample_negatives(rows, labels, 3, seed=7)
    assert keep[labels > 0].all()
    assert not keep[rows == 1].any()  # a query without a positive teaches lambdarank nothing
    assert int((keep & (rows == 0) & (labels == 0)).sum()) == 3
    assert keep[rows == 2].all()  # two negatives, fewer than 3: all kept
    assert np.array_equal(keep, sample_negatives(rows, labels, 3, seed=7))
    draws = {tuple(np.flatnonzero(sample_negatives(rows, labels, 3, seed=s))) for s in range(20)}
    assert len(draws) > 1  # drawn at random, not the first three
    # 0 keeps every negative of every query with a positive
    assert np.array_equal(sample_negatives(rows, labels, 0, seed=7), rows != 1)
    assert sample_negatives(rows[:0], labels[:0], 3, seed=7).tolist() == []


def test_the_ranker_trains_on_every_positive_and_the_sampled_negatives_only(monkeypatch):
    import lightgbm

    synth = generate(n_users=60, n_items=40, n_interactions=700, seed=3)
    model = TwoStage(lambda_=50.0, factors=8, per_source=10, label_holdout=2, negatives=4)
    _s, _c, cands, labels = model.training_frame(synth.data)
    seen: dict[str, np.ndarray] = {}
    real = lightgbm.train

    def spy(params, dataset, **kwargs):
        seen["label"] = np.asarray(dataset.get_label())
        seen["group"] = np.asarray(dataset.get_group())
        return real(params, dataset, **kwargs)

    monkeypatch.setattr(lightgbm, "train", spy)
    TwoStage(lambda_=50.0, factors=8, per_source=10, label_holdout=2, negatives=4).fit(synth.data)
    positives = int(labels.sum())
    queries = np.unique(cands.rows[labels > 0])
    negatives_per_query = [min(4, int(((cands.rows == q) & (labels == 0)).sum())) for q in queries]
    assert int(seen["label"].sum()) == positives
    assert seen["label"].size == positives + sum(negatives_per_query)
    assert seen["group"].size == queries.size


def test_ranking_counts_better_unseen_titles_and_ties_share_the_best_rank():
    scores = np.array([[0.9, 0.5, 0.5, 0.1, 0.7], [0.0, 0.2, 0.4, 0.6, 0.8]])
    seen = np.array([[False, False, False, False, True], [False, False, False, False, False]])
    r = _Ranking(scores, seen)
    rows, items = np.nonzero(np.ones_like(seen))
    ranks = r.of(rows, items).reshape(2, 5)
    # row 0: 0.7 is seen, so it ranks no one down; the two 0.5s tie at rank 1
    assert ranks[0].tolist()[:4] == [0.0, 1.0, 1.0, 3.0]
    assert ranks[1].tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    # top 2 of row 0 is the best and both tied seconds; seen titles are the caller's to drop
    assert (r.top(2)[0] & ~seen[0]).tolist() == [True, True, True, False, False]
    assert r.top(2)[1].tolist() == [False, False, False, True, True]
    assert r.top(99).all()  # more than the row holds: everything


def test_ranking_agrees_with_a_full_sort_on_random_scores():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, size=(40, 30)).astype(np.float64)  # many ties
    seen = rng.random((40, 30)) < 0.2
    r = _Ranking(scores, seen)
    rows, items = np.nonzero(~seen)
    got = r.of(rows, items)
    want = [
        float(((scores[u] > scores[u, i]) & ~seen[u]).sum())
        for u, i in zip(rows.tolist(), items.tolist(), strict=True)
    ]
    assert got.tolist() == want


def test_ranking_orders_in_single_precision_as_the_ranker_sees_scores():
    # 1 + 1e-12 and 1 are one float32 value: the features cannot tell them apart, so neither
    # can their ranks; a difference float32 keeps still orders them
    scores = np.array([[1.0, 1.0 + 1e-12, 0.5, 1.0 + 1e-3]])
    r = _Ranking(scores, np.zeros(scores.shape, dtype=bool))
    assert r.of(np.zeros(4, dtype=np.int64), np.arange(4)).tolist() == [1.0, 1.0, 3.0, 0.0]
    assert r.top(2)[0].tolist() == [True, True, False, True]


def test_a_sampled_training_frame_is_the_full_frame_at_the_sampled_rows():
    synth = generate(n_users=60, n_items=40, n_interactions=700, seed=3)
    model = TwoStage(lambda_=50.0, factors=8, per_source=10, label_holdout=2)
    _s, _c, full, labels = model.training_frame(synth.data)
    _s2, _c2, part, part_labels = TwoStage(
        lambda_=50.0, factors=8, per_source=10, label_holdout=2
    ).training_frame(synth.data, negatives=3)
    keep = sample_negatives(full.rows, labels, 3, seed=42)
    assert 0 < keep.sum() < keep.size
    assert np.array_equal(part.rows, full.rows[keep])
    assert np.array_equal(part.items, full.items[keep])
    assert np.array_equal(part.features, full.features[keep], equal_nan=True)
    assert np.array_equal(part_labels, labels[keep])


def test_plays_before_of_chosen_pairs_is_the_full_matrix_at_those_pairs():
    synth = generate(n_users=30, n_items=20, n_interactions=400, seed=5)
    ctx = Context.fit(synth.data)
    _u, _i, _w, ts = synth.data.triples()
    rng = np.random.default_rng(1)
    at = rng.uniform(ts.min() - 40 * 86400, ts.max() + 40 * 86400, size=12)
    for months in (1, 3):
        full = ctx.plays_before(at, months)
        rows = np.repeat(np.arange(at.size), 20)
        items = np.tile(np.arange(20), at.size)
        assert full.any()
        assert np.array_equal(ctx.plays_before_at(at[rows], items, months), full[rows, items])
