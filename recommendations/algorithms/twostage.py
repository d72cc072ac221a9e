"""Two stages: candidates from several sources, ordered by a LightGBM lambdarank ranker.

Sources (each fitted on the same data): EASE, implicit ALS, item-kNN, popularity per country,
recent releases (titles out for under two years at the viewer's time, by recent plays), EASE
from the viewer's newest titles, and Continue Watching (EASE from the titles the viewer started
and has not finished, as of the viewer's time).
A title is a candidate when it is in any source's top `per_source`. The ranker scores each
candidate from features (`FEATURES`) computed from the training data only.

Training (`fit`) is time-ordered: each user's newest `label_holdout` interactions are carved
off; the sources are fitted on the rest, candidates and features are built from the rest, and
the carved-off interactions are the labels. The sources are then refitted on all the data given
(the ranker keeps what it learned about combining them). EASE's lambda is chosen on the same
carve-off (validation), so nothing in `fit` looks past the data it is handed.

The ranker learns from every positive and `negatives` random negatives per user (query), 100
trees of 15 leaves, one thread; ALS as a source runs 4 iterations on one thread. Against all
negatives, 150 trees of 31 leaves and ALS's 15 iterations this was 5x less CPU for the ranker
and NDCG@10 rose on MovieLens-100K and ml-latest-small (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommendations.algorithms.als import ImplicitALS
from recommendations.algorithms.base import InteractionData, Recommender
from recommendations.algorithms.ease import EASE
from recommendations.algorithms.itemknn import ItemKNN
from recommendations.algorithms.popularity import Popularity

DAY = 86400.0
MONTH = 30 * DAY
YEAR = 365.25 * DAY
#: a title counts as a recent release for this long after it came out
RECENT_RELEASE = 2 * YEAR
SOURCES = ("ease", "als", "itemknn", "popularity", "recent", "ease_latest", "continue")
#: how many of a viewer's newest titles the "ease_latest" source scores from (what they are
#: watching these days, as opposed to everything they ever watched)
LATEST = 10
FEATURES = (
    *(f"{s}_{kind}" for s in SOURCES for kind in ("score", "rank")),
    "release_age_years",
    "title_plays_log",
    "title_plays_1m_log",
    "title_plays_3m_log",
    "genre_affinity",
    "profile_activity_log",
    "hour",
    "weekday",
    "in_my_list",
)
BIG = 1e6


@dataclass
class Context:
    """What features are computed from: fitted once on training data, stored in the artifact."""

    month0: float  # the first month's start (unix s)
    monthly: np.ndarray  # months x items, plays per month (cumulative along months)
    plays: np.ndarray  # items, all plays in the data
    genres: sp.csr_matrix  # items x genres, rows normalised to unit length
    released: np.ndarray  # items, unix s (NaN unknown)

    @classmethod
    def fit(cls, data: InteractionData) -> Context:
        users, items, _w, ts = data.triples()
        n_items = data.shape[1]
        month0 = float(ts.min()) if ts.size else 0.0
        month = ((ts - month0) // MONTH).astype(np.int64) if ts.size else np.zeros(0, np.int64)
        n_months = int(month.max()) + 1 if month.size else 1
        monthly = np.zeros((n_months, n_items), dtype=np.float32)
        np.add.at(monthly, (month, items), 1.0)
        genres = data.item_genres
        if genres is None or genres.shape[0] != n_items:
            genres = sp.csr_matrix((n_items, 1), dtype=np.float32)
        genres = sp.csr_matrix(genres, dtype=np.float32)
        norms = np.sqrt(np.asarray(genres.multiply(genres).sum(axis=1)).ravel())
        genres = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ genres)
        released = data.item_released
        if released is None or released.shape[0] != n_items:
            released = np.full(n_items, np.nan)
        return cls(
            month0=month0,
            monthly=np.cumsum(monthly, axis=0),
            plays=np.bincount(items, minlength=n_items).astype(np.float32),
            genres=genres,
            released=np.asarray(released, dtype=np.float64),
        )

    def plays_before(self, at: np.ndarray, months: int) -> np.ndarray:
        """Plays of every item in the `months` months up to each time in `at` (users x items)."""
        last = self.monthly.shape[0] - 1
        m = np.clip(((at - self.month0) // MONTH).astype(np.int64), 0, last)
        upto = self.monthly[m]
        before = np.where((m - months >= 0)[:, None], self.monthly[np.maximum(m - months, 0)], 0)
        return upto - before  # float32: counts of plays, whole numbers, exact

    def plays_before_at(self, at: np.ndarray, items: np.ndarray, months: int) -> np.ndarray:
        """`plays_before` of chosen (time, item) pairs only: the same numbers, without a
        users x items matrix (the candidates' features need a few pairs per viewer)."""
        last = self.monthly.shape[0] - 1
        m = np.clip(((at - self.month0) // MONTH).astype(np.int64), 0, last)
        upto = self.monthly[m, items]
        before = np.where(m - months >= 0, self.monthly[np.maximum(m - months, 0), items], 0)
        return upto - before

    def to_arrays(self) -> dict[str, np.ndarray]:
        g = self.genres
        return {
            "month0": np.array([self.month0]),
            "monthly": self.monthly,
            "plays": self.plays,
            "g_data": g.data,
            "g_indices": g.indices,
            "g_indptr": g.indptr,
            "g_shape": np.array(g.shape),
            "released": self.released,
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Context:
        shape = tuple(int(v) for v in a["g_shape"])
        return cls(
            month0=float(a["month0"][0]),
            monthly=a["monthly"],
            plays=a["plays"],
            genres=sp.csr_matrix((a["g_data"], a["g_indices"], a["g_indptr"]), shape=shape),
            released=a["released"],
        )


@dataclass
class Candidates:
    """Candidate (user row, item) pairs, grouped by user, and their feature matrix."""

    rows: np.ndarray  # index into the scored users
    items: np.ndarray
    features: np.ndarray  # len(rows) x len(FEATURES), float32
    ease: np.ndarray  # the EASE source's scores of every title (users x items)


class _Ranking:
    """One source's order of every title, per row, without sorting titles into places.

    A title's rank is how many titles in its row score strictly higher (ties share the best
    rank: competition ranking). `top(k)` marks the titles ranked under `k` (every title tied
    with the k-th best included), and `of(rows, items)` gives the rank of chosen pairs by a
    binary search in the row's sorted scores. One in-place value sort per source instead of a
    stable argsort and a scatter of every title's rank: on MovieLens-100K (943 viewers x 1,682
    titles, 7 sources) a candidate pass's ranks went from about 0.2 s to under 0.1 s of CPU.
    Scores are ordered in single precision, as the ranker sees them (its features are float32):
    half the sort's time of double precision, and titles whose scores only double precision
    tells apart share a rank.
    """

    def __init__(self, scores: np.ndarray, seen: np.ndarray) -> None:
        # negated so that ascending is best first; seen titles last (they rank no title down)
        negated = np.negative(scores, dtype=np.float32)
        np.copyto(negated, np.inf, where=seen)
        self.negated = negated
        self.sorted = np.sort(negated, axis=1)

    def top(self, k: int) -> np.ndarray:
        """Titles ranked under `k` (seen titles too when a row has fewer than `k` others:
        callers drop them)."""
        if self.negated.shape[1] == 0:
            return np.zeros(self.negated.shape, dtype=bool)
        kth = self.sorted[:, min(k, self.negated.shape[1]) - 1]
        return self.negated <= kth[:, None]

    def of(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Ranks of (row, item) pairs; `rows` ascending (as `np.nonzero` gives them). One
        binary search per row (about 10 ms for 140,000 pairs of 943 rows; laying the rows end
        to end for a single search measured three times slower)."""
        out = np.empty(rows.size, dtype=np.float64)
        if not rows.size:
            return out
        values = self.negated[rows, items]
        cuts = np.flatnonzero(rows[1:] != rows[:-1]) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, rows.size]
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            out[lo:hi] = np.searchsorted(self.sorted[rows[lo]], values[lo:hi], side="left")
        return out


class TwoStage(Recommender):
    """Candidate sources + LightGBM lambdarank over their scores, ranks and context features."""

    name: ClassVar[str] = "twostage"
    #: its choices (EASE's lambda) are made on its own time-ordered carve-off inside `fit`
    search_space: ClassVar[list[dict[str, Any]]] = [{}]

    def __init__(
        self,
        lambda_: float = 0.0,
        factors: int = 64,
        als_iterations: int = 4,
        neighbours: int = 100,
        per_source: int = 50,
        label_holdout: int = 3,
        negatives: int = 20,
        trees: int = 70,
        learning_rate: float = 0.07,
        leaves: int = 15,
        random_state: int = 42,
    ) -> None:
        super().__init__(
            lambda_=float(lambda_),
            factors=int(factors),
            als_iterations=int(als_iterations),
            neighbours=int(neighbours),
            per_source=int(per_source),
            label_holdout=int(label_holdout),
            negatives=int(negatives),
            trees=int(trees),
            learning_rate=float(learning_rate),
            leaves=int(leaves),
            random_state=int(random_state),
        )
        self.sources: dict[str, Recommender] = {}
        self.context: Context | None = None
        self.booster: Any = None

    # --- sources and features ------------------------------------------------------------------
    def _new_sources(self, lambda_: float) -> dict[str, Recommender]:
        p = self.params
        return {
            "ease": EASE(lambda_=lambda_),
            # one thread: on the shared 2-core machine two cost 1.6x the CPU (spin-waits)
            # 4 iterations, not implicit's 15: the same NDCG@10 on MovieLens (docs/benchmarks.md)
            "als": ImplicitALS(
                factors=p["factors"],
                iterations=p["als_iterations"],
                random_state=p["random_state"],
                threads=1,
            ),
            "itemknn": ItemKNN(neighbours=p["neighbours"]),
            "popularity": Popularity(),
        }

    def candidates(
        self,
        sources: dict[str, Recommender],
        context: Context,
        history: sp.csr_matrix,
        *,
        at: np.ndarray,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        latest: sp.csr_matrix | None = None,
        my_list: sp.csr_matrix | None = None,
        unfinished: sp.csr_matrix | None = None,
        keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> Candidates:
        """Candidates and features for users with these history rows, as of times `at`.

        Everything comes from the fitted sources, the context, the history rows and the My
        List / unfinished rows up to `at`: nothing later than what the sources were fitted on
        can reach a feature. `keep(rows, items)`, a mask over the candidate pairs, chooses
        the pairs that get features (the ranker's sampled training rows), the rest dropped.
        """
        history = sp.csr_matrix(history)
        n, n_items = history.shape
        seen = np.zeros((n, n_items), dtype=bool)
        seen_r, seen_c = history.nonzero()
        seen[seen_r, seen_c] = True
        scores: dict[str, np.ndarray] = {}
        for name, model in sources.items():
            s = np.asarray(model.score(history, users=users, groups=groups), dtype=np.float64)
            scores[name] = s
        ease = sources["ease"]
        scores["ease_latest"] = np.asarray(
            ease.score(latest if latest is not None else history), dtype=np.float64
        )
        recent_plays = context.plays_before(at, 3)
        age = (at[:, None] - context.released[None, :]) / YEAR
        is_recent = (age >= -1.0 / 12) & (age <= RECENT_RELEASE / YEAR)
        scores["recent"] = np.where(is_recent, recent_plays, np.float32(-1.0))
        # Continue Watching: what the titles a viewer started and has not finished lead to
        started = as_of(unfinished, at, shape=(n, n_items))
        continuing = np.diff(started.indptr) > 0
        if continuing.any():
            scores["continue"] = np.asarray(ease.score(started), dtype=np.float64)
        else:
            # nothing unfinished anywhere (MovieLens): every row scores as an empty history,
            # computed once
            empty = np.asarray(ease.score(started[:1]), dtype=np.float64)
            scores["continue"] = np.broadcast_to(empty, (n, n_items))
        pick = np.zeros((n, n_items), dtype=bool)
        per_source = self.params["per_source"]
        rankings: dict[str, _Ranking] = {}
        for name in SOURCES:
            if name == "continue":
                # a viewer with nothing unfinished has no Continue Watching rank: past every
                # title (and no sort spent on it)
                if continuing.any():
                    ranking = _Ranking(scores[name][continuing], seen[continuing])
                    rankings[name] = ranking
                    pick[continuing] |= ranking.top(per_source)
                continue
            ranking = _Ranking(scores[name], seen)
            rankings[name] = ranking
            top = ranking.top(per_source)
            if name == "recent":
                top &= is_recent
            pick |= top
        pick &= ~seen
        rows, items = np.nonzero(pick)
        if keep is not None:
            chosen = keep(rows, items)
            rows, items = rows[chosen], items[chosen]
        # (dense: users x genres times genres x items is nearly full; a sparse product of it
        # cost more than the product itself)
        genre_profile = (sp.csr_matrix(history > 0, dtype=np.float32) @ context.genres).toarray()
        affinity = np.asarray(genre_profile @ context.genres.T.toarray(), dtype=np.float64)
        norm = np.sqrt((genre_profile * genre_profile).sum(axis=1))
        affinity /= np.where(norm > 0, norm, 1.0)[:, None]
        hours = (at % DAY) / 3600.0
        weekday = ((at // DAY) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        activity = np.log1p(np.diff(history.indptr).astype(np.float64))
        listed = as_of(my_list, at, shape=(n, n_items)).toarray()
        # float32, as the ranker trains on and predicts from
        features = np.empty((rows.size, len(FEATURES)), dtype=np.float32)
        col = iter(range(len(FEATURES)))
        for name in SOURCES:
            features[:, next(col)] = scores[name][rows, items]
            if name == "continue":
                rank = np.full(rows.size, float(n_items))
                if name in rankings:
                    # the sorted rows of the continuing viewers only
                    index = np.cumsum(continuing) - 1
                    has = continuing[rows]
                    rank[has] = rankings[name].of(index[rows[has]], items[has])
                features[:, next(col)] = rank
            else:
                features[:, next(col)] = rankings[name].of(rows, items)
        for values in (
            age[rows, items],
            np.log1p(context.plays[items].astype(np.float64)),
            np.log1p(context.plays_before_at(at[rows], items, 1).astype(np.float64)),
            np.log1p(recent_plays[rows, items].astype(np.float64)),
            affinity[rows, items],
            activity[rows],
            hours[rows],
            weekday[rows],
            listed[rows, items],
        ):
            features[:, next(col)] = values
        return Candidates(rows=rows, items=items, features=features, ease=scores["ease"])

    def training_frame(
        self, data: InteractionData, *, negatives: int | None = None
    ) -> tuple[dict[str, Recommender], Context, Candidates, np.ndarray]:
        """Sources fitted on data minus each user's newest interactions; candidates, features
        and labels (1 where the candidate is one of those newest interactions) for the ranker.

        With `negatives`, only the rows the ranker trains on (`sample_negatives`) get
        features: on MovieLens-100K about one candidate in seven, of 150,000.
        """
        from recommendations.evaluation import search, temporal_split

        carve = temporal_split(data, holdout=self.params["label_holdout"])
        lambda_ = self.params["lambda_"]
        chosen: Recommender | None = None
        if lambda_ <= 0:
            # one trial past the peak, not EASE's usual two: the ranker weighs the EASE
            # source, so the lambda need not be the last word (on MovieLens-100K and
            # ml-latest-small a second trial past the peak never moved the choice)
            result = search("ease", data, holdout=self.params["label_holdout"], patience=1)
            lambda_ = float(result.best_params["lambda_"])
            self.params["lambda_"] = lambda_
            if result.validation is carve:
                # the search validated on this very carve-off: its winner is the EASE source
                chosen = result.best_model
        sources = self._new_sources(lambda_)
        for name, model in sources.items():
            if name == "ease" and chosen is not None:
                sources[name] = chosen
            else:
                model.fit(carve.train)
        context = Context.fit(carve.train)
        labelled = np.flatnonzero(np.diff(carve.test.indptr) > 0)
        test = carve.test[labelled]

        def labels_of(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
            # (a sparse matrix indexed by two empty arrays is not an empty array: no candidates
            # at all, on a tiny catalogue everyone has seen, means no labels)
            if not rows.size:
                return np.zeros(0, dtype=bool)
            return np.asarray(test[rows, items]).ravel() > 0

        def sampled(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
            assert negatives is not None
            seed = self.params["random_state"]
            return sample_negatives(rows, labels_of(rows, items), negatives, seed=seed)

        cands = self.candidates(
            sources,
            context,
            carve.train.weights[labelled],
            at=_last_seen(carve.train, labelled),
            users=labelled,
            groups=carve.train.groups[labelled] if carve.train.groups is not None else None,
            latest=latest_history(carve.train, LATEST)[labelled],
            my_list=_rows(carve.train.my_list, labelled),
            unfinished=_rows(carve.train.unfinished, labelled),
            keep=sampled if negatives is not None else None,
        )
        labels = labels_of(cands.rows, cands.items)
        return sources, context, cands, labels.astype(np.float32)

    # --- the Recommender interface --------------------------------------------------------------
    def fit(self, data: InteractionData) -> None:
        import lightgbm

        self.n_items = data.shape[1]
        _sources, _context, cands, y = self.training_frame(data, negatives=self.params["negatives"])
        rows, x = cands.rows, cands.features
        group = np.bincount(rows)[np.unique(rows)] if rows.size else np.zeros(0, np.int64)
        if y.sum() > 0:
            # lightgbm's own API (its scikit-learn wrapper would need scikit-learn)
            self.booster = lightgbm.train(
                {
                    "objective": "lambdarank",
                    "eval_at": [10],
                    "learning_rate": self.params["learning_rate"],
                    "num_leaves": self.params["leaves"],
                    "min_data_in_leaf": 20,
                    "bagging_fraction": 0.8,
                    "bagging_freq": 1,
                    "feature_fraction": 0.8,
                    "seed": self.params["random_state"],
                    "deterministic": True,
                    "num_threads": 1,  # 2 OpenMP threads on the shared machine: 15x the wall time
                    # row-wise histograms: on these frames faster than the column-wise ones
                    # LightGBM's own timing test picked (MovieLens-100K 0.34 s against 0.35,
                    # ml-latest-small 0.24 against 0.26; the same trees), and no test per fit
                    "force_row_wise": True,
                    "verbosity": -1,
                },
                lightgbm.Dataset(x, label=y, group=group, feature_name=list(FEATURES)),
                num_boost_round=self.params["trees"],
            )
        else:
            self.booster = None
        self.refit(data)

    def refit(self, data: InteractionData) -> None:
        """The sources and context refitted on `data`; the ranker and lambda are kept (the
        ranker learned how to combine the sources, not the sources' item parameters)."""
        if self.params["lambda_"] <= 0:  # never fitted: nothing learned to keep
            self.fit(data)
            return
        self.n_items = data.shape[1]
        self.sources = self._new_sources(self.params["lambda_"])
        for model in self.sources.values():
            model.fit(data)
        self.context = Context.fit(data)
        self._last_seen = _last_seen(data, np.arange(data.shape[0]))
        self._latest = latest_history(data, LATEST)
        self._my_list = data.my_list
        self._unfinished = data.unfinished

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        at: np.ndarray | None = None,
    ) -> np.ndarray:
        assert self.context is not None
        history = sp.csr_matrix(history)
        n = history.shape[0]
        if at is None:
            known = getattr(self, "_last_seen", None)
            if users is not None and known is not None and len(users) and users.max() < known.size:
                at = known[users]
            else:
                at = np.full(n, self.context.month0 + self.context.monthly.shape[0] * MONTH)
        latest = None
        known_latest = getattr(self, "_latest", None)
        if (
            users is not None
            and known_latest is not None
            and len(users)
            and users.max() < known_latest.shape[0]
        ):
            latest = known_latest[users]
        known_users = latest is not None
        cands = self.candidates(
            self.sources,
            self.context,
            history,
            at=at,
            users=users,
            groups=groups,
            latest=latest,
            my_list=_rows(getattr(self, "_my_list", None), users) if known_users else None,
            unfinished=_rows(getattr(self, "_unfinished", None), users) if known_users else None,
        )
        ease = cands.ease
        # outside the candidates: far below any candidate, in EASE's order
        out = -BIG + ease / (np.abs(ease).max() + 1.0)
        if cands.rows.size:
            if self.booster is not None:
                # one thread, as in training (two cost several times the CPU under load)
                pred = np.asarray(
                    self.booster.predict(cands.features, num_threads=1), dtype=np.float64
                )
            else:
                pred = cands.features[:, 0]
            out[cands.rows, cands.items] = pred
        return out

    def stage_model(self) -> Recommender | None:
        return self.sources.get("ease")

    def explain(self, history: sp.csr_matrix, item: int, *, top: int = 3) -> list[int]:
        return self.sources["ease"].explain(history, item, top=top)

    def similar_items(self, item: int) -> np.ndarray:
        return self.sources["ease"].similar_items(item)

    def to_arrays(self) -> dict[str, np.ndarray]:
        assert self.context is not None
        arrays = {
            f"{name}__{k}": v for name, m in self.sources.items() for k, v in m.to_arrays().items()
        }
        arrays |= {f"context__{k}": v for k, v in self.context.to_arrays().items()}
        text = self.booster.model_to_string() if self.booster is not None else ""
        arrays["ranker"] = np.frombuffer(text.encode(), dtype=np.uint8)
        return arrays

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        import lightgbm

        self.sources = self._new_sources(self.params["lambda_"])
        for name, model in self.sources.items():
            prefix = f"{name}__"
            model.load_arrays(
                {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            )
        self.context = Context.from_arrays(
            {k[9:]: v for k, v in arrays.items() if k.startswith("context__")}
        )
        text = arrays["ranker"].tobytes().decode()
        self.booster = lightgbm.Booster(model_str=text) if text else None
        self.n_items = self.sources["ease"].n_items


def sample_negatives(rows: np.ndarray, labels: np.ndarray, k: int, *, seed: int) -> np.ndarray:
    """Which candidate rows the ranker trains on (a boolean mask): every positive of every
    query (user) with a positive, and `k` of its negatives drawn at random (all of them when it
    has `k` or fewer; `k` 0 keeps every negative). Queries with no positive teach lambdarank
    nothing and are dropped. On MovieLens-100K 20 negatives a query cut the ranker's rows from
    142,528 to 19,713 and its CPU by 5x, and NDCG@10 rose (docs/benchmarks.md)."""
    positive = labels > 0
    has_positive = np.zeros(int(rows.max()) + 1 if rows.size else 0, dtype=bool)
    has_positive[rows[positive]] = True
    in_query = has_positive[rows] if rows.size else np.zeros(0, dtype=bool)
    if k <= 0:
        return in_query
    negative = np.flatnonzero(in_query & ~positive)
    # a random order of the negatives within each query: sort by (query, random key)
    key = np.random.default_rng(seed).random(negative.size)
    order = negative[np.lexsort((key, rows[negative]))]
    q = rows[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]]) if q.size else np.zeros(0, np.int64)
    nth = np.arange(q.size) - np.repeat(starts, np.diff(np.r_[starts, q.size]))
    keep = positive & in_query
    keep[order[nth < k]] = True
    return keep


def _last_seen(data: InteractionData, users: np.ndarray) -> np.ndarray:
    """Each user's newest interaction time (unix s) in `data`: the features' 'now'."""
    ts = data.timestamps.tocsr()
    newest = np.zeros(data.shape[0], dtype=np.float64)
    has = np.diff(ts.indptr) > 0
    if ts.nnz:
        newest[has] = np.maximum.reduceat(ts.data, ts.indptr[:-1][has])
    return newest[users]


def _rows(m: sp.csr_matrix | None, users: np.ndarray | None) -> sp.csr_matrix | None:
    return None if m is None or users is None else sp.csr_matrix(m)[users]


def as_of(m: sp.csr_matrix | None, at: np.ndarray, *, shape: tuple[int, int]) -> sp.csr_matrix:
    """0/1 rows of `m` (values: unix times) keeping each row's entries at or before `at[row]`."""
    if m is None:
        return sp.csr_matrix(shape, dtype=np.float32)
    m = sp.csr_matrix(m)
    row_of = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keep = m.data <= at[row_of]
    out = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (row_of[keep], m.indices[keep])),
        shape=m.shape,
    )
    return out


def latest_history(data: InteractionData, n: int) -> sp.csr_matrix:
    """Each user's `n` newest interactions (0/1), the rest of their history dropped."""
    users, items, _w, ts = data.triples()
    order = np.lexsort((-items, -ts, users))
    counts = np.bincount(users, minlength=data.shape[0])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(users.size) - starts[users[order]]
    keep = order[rank < n]
    return sp.csr_matrix(
        (np.ones(keep.size, dtype=np.float32), (users[keep], items[keep])), shape=data.shape
    )
