"""Offline evaluation: temporal split, full ranking, seen items excluded, metrics at k.

Protocol (docs/recommendations.md): for every user with enough history, the most recent
`holdout` interactions (or the most recent `holdout_fraction`) are the test set; the model is fit
on the rest. Each test user's scores cover every allowed item; items the user already has in
training are never ranked; held-out items that are not allowed for the user are dropped from
their relevant set. Hyper-parameters are chosen on a validation split carved the same way from
the training part only: the test holdout is never looked at while choosing.
No Django here, so the benchmark and the management commands share it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from recommendations.algorithms import InteractionData, Recommender, build

Allowed: TypeAlias = "np.ndarray | sp.csr_matrix | None"
Progress = Callable[[str], None]


@dataclass
class Split:
    train: InteractionData
    test: sp.csr_matrix  # users x items, 1 where held out


def temporal_split(
    data: InteractionData,
    *,
    holdout: int = 1,
    holdout_fraction: float | None = None,
    min_train: int = 1,
) -> Split:
    """Hold out each user's most recent interactions; users with too little history keep all.

    The same split of the same data is made once (a two-stage fit carves its labels with the
    split its lambda search validates on)."""
    key = ("temporal_split", holdout, holdout_fraction, min_train)
    known = data.memo.get(key)
    if known is None:
        known = data.memo[key] = _temporal_split(
            data, holdout=holdout, holdout_fraction=holdout_fraction, min_train=min_train
        )
    return known


def _temporal_split(
    data: InteractionData, *, holdout: int, holdout_fraction: float | None, min_train: int
) -> Split:
    users, items, _w, ts = data.triples()
    n_users, n_items = data.shape
    # order by user, then newest first (item id breaks timestamp ties, deterministically)
    order = np.lexsort((-items, -ts, users))
    counts = np.bincount(users, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_newest = np.arange(users.size) - starts[users[order]]
    if holdout_fraction is not None:
        per_user = np.floor(counts * float(holdout_fraction)).astype(np.int64)
    else:
        per_user = np.full(n_users, int(holdout), dtype=np.int64)
    per_user = np.where(counts - per_user >= min_train, per_user, 0)
    held_sorted = rank_newest < per_user[users[order]]
    held = np.zeros(users.size, dtype=bool)
    held[order] = held_sorted
    test = sp.csr_matrix(
        (np.ones(int(held.sum()), dtype=np.float32), (users[held], items[held])),
        shape=(n_users, n_items),
    )
    return Split(train=data.subset(~held), test=test)


# --- metrics on one ranked list ----------------------------------------------------------------
def dcg_discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(ranked: Iterable[int], relevant: set[int], k: int = 10) -> float:
    """Binary relevance; the ideal list puts min(|relevant|, k) hits first."""
    if not relevant:
        return 0.0
    disc = dcg_discounts(k)
    dcg = sum(disc[r] for r, item in enumerate(list(ranked)[:k]) if item in relevant)
    idcg = disc[: min(len(relevant), k)].sum()
    return float(dcg / idcg)


def recall_at_k(ranked: Iterable[int], relevant: set[int], k: int = 10) -> float:
    """Hits in the top k over min(|relevant|, k), so a perfect list scores 1."""
    if not relevant:
        return 0.0
    hits = sum(1 for item in list(ranked)[:k] if item in relevant)
    return hits / min(len(relevant), k)


def ap_at_k(ranked: Iterable[int], relevant: set[int], k: int = 10) -> float:
    """Average precision at k: mean of precision@i at each hit, over min(|relevant|, k)."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, item in enumerate(list(ranked)[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / i
    return total / min(len(relevant), k)


# --- evaluation of a fitted model ----------------------------------------------------------------
def _allowed_rows(allowed: Allowed, rows: np.ndarray, n_items: int) -> np.ndarray | None:
    if allowed is None:
        return None
    if sp.issparse(allowed):
        return np.asarray(sp.csr_matrix(allowed)[rows].todense(), dtype=bool)
    mask = np.asarray(allowed, dtype=bool)
    if mask.shape != (n_items,):
        raise ValueError(f"allowed mask must have {n_items} entries, got {mask.shape}")
    return np.broadcast_to(mask, (rows.size, n_items))


def rank_users(
    model: Recommender,
    train: InteractionData,
    users: np.ndarray,
    *,
    k: int = 10,
    allowed: Allowed = None,
    batch: int = 256,
) -> np.ndarray:
    """Top-k items for each of `users` (rows of -1 where fewer than k items are possible)."""
    n_items = train.shape[1]
    out = np.full((users.size, k), -1, dtype=np.int64)
    hist = train.weights
    for start in range(0, users.size, batch):
        rows = users[start : start + batch]
        h = hist[rows]
        groups = train.groups[rows] if train.groups is not None else None
        scores = np.array(model.score(h, users=rows, groups=groups), dtype=np.float64)
        scores[~np.isfinite(scores)] = -np.inf
        # full ranking over allowed items, seen ones excluded
        seen_r, seen_c = h.nonzero()
        scores[seen_r, seen_c] = -np.inf
        mask = _allowed_rows(allowed, rows, n_items)
        if mask is not None:
            scores[~mask] = -np.inf
        kk = min(k, n_items)
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        top = np.take_along_axis(part, order, axis=1)
        top_scores = np.take_along_axis(part_scores, order, axis=1)
        top[~np.isfinite(top_scores)] = -1
        out[start : start + rows.size, :kk] = top
    return out


@dataclass
class Metrics:
    ndcg: float
    recall: float
    map: float
    coverage: float
    users: int
    k: int = 10

    def as_dict(self) -> dict[str, float]:
        k = self.k
        return {
            f"ndcg@{k}": round(self.ndcg, 6),
            f"recall@{k}": round(self.recall, 6),
            f"map@{k}": round(self.map, 6),
            "coverage": round(self.coverage, 6),
            "users": self.users,
        }


def evaluate(
    model: Recommender,
    split: Split,
    *,
    k: int = 10,
    allowed: Allowed = None,
    batch: int = 256,
) -> Metrics:
    test = split.test.tocsr()
    n_users, n_items = test.shape
    if allowed is not None and sp.issparse(allowed):
        relevant = test.multiply(sp.csr_matrix(allowed, dtype=np.float32)).tocsr()
        allowed_items = int((np.asarray(sp.csr_matrix(allowed).sum(axis=0)).ravel() > 0).sum())
    elif allowed is not None:
        mask = np.asarray(allowed, dtype=bool)
        relevant = test.multiply(sp.csr_matrix(mask.astype(np.float32))).tocsr()
        allowed_items = int(mask.sum())
    else:
        relevant = test
        allowed_items = n_items
    relevant.eliminate_zeros()
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    if users.size == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, 0, k)
    top = rank_users(model, split.train, users, k=k, allowed=allowed, batch=batch)
    return metrics_of(top, relevant, users, allowed_items=allowed_items, k=k)


def metrics_of(
    top: np.ndarray, relevant: sp.csr_matrix, users: np.ndarray, *, allowed_items: int, k: int
) -> Metrics:
    """Metrics of ranked lists `top` (one row per user in `users`, -1 pads), vectorised."""
    if users.size == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, 0, k)
    top = top[:, :k]
    kk = top.shape[1]
    rel_rows = relevant[users]
    n_rel = np.minimum(np.diff(rel_rows.indptr), k).astype(np.float64)
    # hits[u, r]: the r-th recommended item of user u is relevant to u (one sparse lookup)
    row_idx = np.repeat(np.arange(users.size), kk)
    cols = top.ravel()
    valid = cols >= 0
    flat = np.zeros(top.size, dtype=bool)
    flat[valid] = np.asarray(rel_rows[row_idx[valid], cols[valid]]).ravel() > 0
    hits = flat.reshape(top.shape)
    disc = dcg_discounts(k)[:kk]
    ideal = np.cumsum(dcg_discounts(k))[n_rel.astype(np.int64) - 1]
    ndcg = (hits * disc).sum(axis=1) / ideal
    recall = hits.sum(axis=1) / n_rel
    precision = np.cumsum(hits, axis=1) / np.arange(1, kk + 1)
    ap = (precision * hits).sum(axis=1) / n_rel
    recommended = np.unique(top[top >= 0])
    coverage = recommended.size / allowed_items if allowed_items else 0.0
    return Metrics(
        float(ndcg.mean()), float(recall.mean()), float(ap.mean()), coverage, int(users.size), k
    )


# --- fitting, search, side-by-side comparison ----------------------------------------------------
def fit_timed(model: Recommender, data: InteractionData) -> float:
    t0 = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - t0


@dataclass
class SearchResult:
    algorithm: str
    best_params: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)
    #: the winning trial's model, fitted on `train`'s validation carve-off (`validation`);
    #: None when nothing was tried
    best_model: Recommender | None = None
    validation: Split | None = None


def search(
    algorithm: str,
    train: InteractionData,
    *,
    space: list[dict[str, Any]] | None = None,
    holdout: int = 1,
    holdout_fraction: float | None = None,
    k: int = 10,
    allowed: Allowed = None,
    progress: Progress | None = None,
    patience: int | None = None,
) -> SearchResult:
    """Try each parameter set on a validation split carved from `train`; best NDCG@k wins.

    A space of one entry is returned untried (there is nothing to choose). Along an ordered
    one-parameter space (`search_ordered`, e.g. EASE's lambda) validation NDCG rises to one
    peak and falls, so the search climbs from the model's default (`_ordered_walk`): it walks
    down from it, and up only when down found nothing better, each way stopping after
    `patience` trials in a row below the best so far (the model's `search_patience` unless
    given).
    """
    cls = build(algorithm).__class__
    space = space if space is not None else cls.search_space
    if len(space) == 1:
        return SearchResult(algorithm=algorithm, best_params=dict(space[0]), trials=[])
    val = temporal_split(train, holdout=holdout, holdout_fraction=holdout_fraction)
    trials: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any], Recommender] | None = None

    def trial(params: dict[str, Any]) -> bool:
        """Fit and score `params`; whether it beat the best so far."""
        nonlocal best
        model = build(algorithm, params)
        seconds = fit_timed(model, val.train)
        m = evaluate(model, val, k=k, allowed=allowed)
        trials.append({"params": params, "seconds": round(seconds, 4), **m.as_dict()})
        if progress:
            progress(f"{algorithm} {params}: ndcg@{k}={m.ndcg:.4f}")
        if best is None or m.ndcg > best[0]:
            best = (m.ndcg, params, model)
            return True
        return False

    if cls.search_ordered:
        patience = cls.search_patience if patience is None else patience
        _ordered_walk(space, _default_index(cls, space), patience, trial)
    else:
        for params in space:
            trial(params)
    assert best is not None
    return SearchResult(
        algorithm=algorithm,
        best_params=dict(best[1]),
        trials=trials,
        best_model=best[2],
        validation=val,
    )


def _default_index(cls: type[Recommender], space: list[dict[str, Any]]) -> int:
    """Where in `space` the model's default parameters are (0 when they are not in it)."""
    defaults = cls().params
    for i, params in enumerate(space):
        if all(defaults.get(name) == value for name, value in params.items()):
            return i
    return 0


def _ordered_walk(
    space: list[dict[str, Any]],
    start: int,
    patience: int,
    trial: Callable[[dict[str, Any]], bool],
) -> None:
    """Try `space[start]`, then walk down the ordered space while trials improve (stopping
    after `patience` in a row that do not), and then up the same way only if the walk down
    never improved: with one peak, a better point below the start means the peak is below it.
    From the bottom (start 0) this is the plain walk up. On MovieLens the peak (lambda 100) is
    next below EASE's default (250): three fits instead of the four from the bottom."""
    trial(space[start])
    for step in (-1, 1):
        improved, worse, i = False, 0, start + step
        while 0 <= i < len(space) and worse < patience:
            if trial(space[i]):
                improved, worse = True, 0
            else:
                worse += 1
            i += step
        if improved:
            return


@dataclass
class Row:
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, float]
    train_seconds: float
    validated: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    data: InteractionData,
    plan: list[tuple[str, dict[str, Any] | None]],
    *,
    holdout: int = 1,
    holdout_fraction: float | None = None,
    k: int = 10,
    allowed: Allowed = None,
    progress: Progress | None = None,
    label: Callable[[str, dict[str, Any] | None], str] | None = None,
) -> tuple[Split, list[Row]]:
    """Every (algorithm, params) on the same split; params None means 'choose by validation'."""
    split = temporal_split(data, holdout=holdout, holdout_fraction=holdout_fraction)
    rows: list[Row] = []
    for algorithm, params in plan:
        row = evaluate_one(
            split,
            algorithm,
            params,
            holdout=holdout,
            holdout_fraction=holdout_fraction,
            k=k,
            allowed=allowed,
            progress=progress,
            label=label(algorithm, params) if label else algorithm,
        )
        rows.append(row)
    return split, rows


def evaluate_one(
    split: Split,
    algorithm: str,
    params: dict[str, Any] | None,
    *,
    holdout: int = 1,
    holdout_fraction: float | None = None,
    k: int = 10,
    allowed: Allowed = None,
    progress: Progress | None = None,
    label: str | None = None,
) -> Row:
    """One model on a split: params None means 'choose by validation' on the training part.

    `train_seconds` is the fit on the training part (the validation search is not included).
    """
    validated = params is None
    if params is None:
        params = search(
            algorithm,
            split.train,
            holdout=holdout,
            holdout_fraction=holdout_fraction,
            k=k,
            allowed=allowed,
            progress=progress,
        ).best_params
    model = build(algorithm, params)
    seconds = fit_timed(model, split.train)
    m = evaluate(model, split, k=k, allowed=allowed)
    name = label or algorithm
    if progress:
        progress(f"{name}: ndcg@{k}={m.ndcg:.4f} in {seconds:.2f}s")
    return Row(name, model.params, m.as_dict(), round(seconds, 4), validated)


def format_table(rows: list[Row], *, k: int = 10) -> str:
    head = ["algorithm", f"NDCG@{k}", f"Recall@{k}", f"MAP@{k}", "coverage", "train s", "params"]
    lines = ["| " + " | ".join(head) + " |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        m = r.metrics
        params = ", ".join(f"{a}={b}" for a, b in r.params.items())
        if r.validated:
            params += " (validated)"
        lines.append(
            f"| {r.algorithm} | {m[f'ndcg@{k}']:.4f} | {m[f'recall@{k}']:.4f} "
            f"| {m[f'map@{k}']:.4f} | {m['coverage']:.3f} | {r.train_seconds:.2f} | {params} |"
        )
    return "\n".join(lines)


def to_json(rows: list[Row], **meta: Any) -> str:
    return json.dumps({**meta, "results": [r.as_dict() for r in rows]}, indent=2, sort_keys=True)
