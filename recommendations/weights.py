"""Interaction weights: what each viewing signal adds, and the validation that chooses them.

A (profile, title) pair carries signals: a completed view, a partial view (started, not
finished), thumbs up, thumbs down, My List. Its training weight is the sum of the weights of
its signals, floored at 0 (0: not a training positive). `thumb_down=None` keeps the old rule,
"a thumbs down zeroes the pair", as one point of the grid.

Validation (`validate`): each profile's newest `holdout` watched titles are held out; the
target is what the viewer went on to watch (any view, whatever its rating), so it does not
depend on the weights being judged. Training rows are the profile's rows strictly before its
first held-out time (no later My List addition or thumb can leak). For each grid point the
training matrix is rebuilt, a reference model is fitted and scored with every watched
training title excluded; NDCG@10 decides. The grid is searched one signal at a time from the
current weights (coordinate search), so it costs a few fits per signal, not a product of all.
A signal no training row carries cannot be judged on this data: it keeps its current weight
and is reported as such. No Django here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations.algorithms import InteractionData, build
from recommendations.evaluation import metrics_of

SIGNALS = ("complete", "partial", "thumb_up", "thumb_down", "my_list")


@dataclass(frozen=True)
class Weights:
    complete: float = 3.0
    partial: float = 1.0
    thumb_up: float = 2.0
    #: None: a thumbs down zeroes the pair (a filter); a number: added like any signal
    thumb_down: float | None = None
    my_list: float = 1.0

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


#: the fixed rule before validation (a thumbs down zeroed the pair)
PREVIOUS = Weights()
#: chosen by `manage.py recs_weights` on MovieLens-100K and ml-latest-small: a thumbs down
#: on a watched title adds nothing and takes nothing away, the view still counts
#: (docs/recommendations.md, "Interaction weights")
DEFAULT = Weights(thumb_down=0.0)

#: the values tried for each signal (None for thumbs down: the old filter)
GRID: dict[str, tuple[float | None, ...]] = {
    "complete": (1.0, 3.0),
    "partial": (0.0, 0.5, 1.0),
    "thumb_up": (0.0, 2.0),
    "thumb_down": (None, 0.0, -1.0, 1.0),
    "my_list": (0.0, 1.0),
}


@dataclass
class Signals:
    """One row per (profile, title): indices and the signals behind its weight."""

    users: np.ndarray
    items: np.ndarray
    plays: np.ndarray
    completions: np.ndarray
    thumb: np.ndarray  # -1, 0, +1
    in_my_list: np.ndarray  # bool
    at: np.ndarray  # unix s, the newest signal on the pair
    shape: tuple[int, int]

    @property
    def watched(self) -> np.ndarray:
        return (self.plays > 0) | (self.completions > 0)

    def carries(self, signal: str) -> bool:
        """Whether any row has this signal (else its weight cannot be judged here)."""
        return bool(_indicator(self, signal).any())


def _indicator(s: Signals, signal: str) -> np.ndarray:
    if signal == "complete":
        return s.completions > 0
    if signal == "partial":
        return (s.plays > 0) & (s.completions == 0)
    if signal == "thumb_up":
        return s.thumb > 0
    if signal == "thumb_down":
        return s.thumb < 0
    if signal == "my_list":
        return np.asarray(s.in_my_list, dtype=bool)
    raise ValueError(f"unknown signal {signal!r}")


def weight_of(
    *, plays: int, completions: int, thumb: int, in_my_list: bool, weights: Weights = DEFAULT
) -> float:
    """The training weight of one pair's signals (0 means not a training positive)."""
    if thumb < 0 and weights.thumb_down is None:
        return 0.0
    w = 0.0
    if completions > 0:
        w += weights.complete
    elif plays > 0:
        w += weights.partial
    if thumb > 0:
        w += weights.thumb_up
    elif thumb < 0 and weights.thumb_down is not None:
        w += weights.thumb_down
    if in_my_list:
        w += weights.my_list
    return max(w, 0.0)


def weights_array(s: Signals, weights: Weights) -> np.ndarray:
    """`weight_of` for every row at once."""
    w = np.zeros(s.users.size, dtype=np.float64)
    w += np.where(_indicator(s, "complete"), weights.complete, 0.0)
    w += np.where(_indicator(s, "partial"), weights.partial, 0.0)
    w += np.where(_indicator(s, "thumb_up"), weights.thumb_up, 0.0)
    down = _indicator(s, "thumb_down")
    if weights.thumb_down is not None:
        w += np.where(down, weights.thumb_down, 0.0)
    w += np.where(_indicator(s, "my_list"), weights.my_list, 0.0)
    w = np.maximum(w, 0.0)
    if weights.thumb_down is None:
        w[down] = 0.0
    return w


@dataclass
class ValidationSplit:
    train: np.ndarray  # bool per row: usable for training
    target: sp.csr_matrix  # users x items, 1 for the held-out watched titles
    watched_train: sp.csr_matrix  # users x items, 1 for watched training titles (excluded)


def validation_split(s: Signals, *, holdout: int = 3) -> ValidationSplit:
    """Each profile's newest `holdout` watched rows are the target; rows before the first of
    them train. Profiles with no more than `holdout` watched rows only train."""
    n_users, n_items = s.shape
    watched = s.watched
    idx = np.flatnonzero(watched)
    order = idx[np.lexsort((-s.items[idx], -s.at[idx], s.users[idx]))]
    counts = np.bincount(s.users[order], minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(order.size) - starts[s.users[order]]
    held = order[(rank < holdout) & (counts[s.users[order]] > holdout)]
    cutoff = np.full(n_users, np.inf)
    np.minimum.at(cutoff, s.users[held], s.at[held])
    train = s.at < cutoff[s.users]
    train[held] = False
    target = sp.csr_matrix(
        (np.ones(held.size, dtype=np.float32), (s.users[held], s.items[held])), shape=s.shape
    )
    seen = train & watched
    watched_train = sp.csr_matrix(
        (np.ones(int(seen.sum()), dtype=np.float32), (s.users[seen], s.items[seen])),
        shape=s.shape,
    )
    return ValidationSplit(train=train, target=target, watched_train=watched_train)


def score_weights(
    s: Signals,
    split: ValidationSplit,
    weights: Weights,
    *,
    algorithm: str = "ease",
    params: dict[str, Any] | None = None,
    k: int = 10,
) -> float:
    """Validation NDCG@k of `algorithm` trained on the rows weighted by `weights`."""
    w = weights_array(s, weights)
    keep = split.train & (w > 0)
    data = InteractionData.from_triples(
        s.users[keep], s.items[keep], w[keep], s.at[keep], shape=s.shape
    )
    model = build(algorithm, params)
    model.fit(data)
    users = np.flatnonzero(np.diff(split.target.indptr) > 0)
    if users.size == 0:
        return 0.0
    scores = np.array(model.score(data.weights[users], users=users), dtype=np.float64)
    seen = split.watched_train[users]
    r, c = seen.nonzero()
    scores[r, c] = -np.inf
    kk = min(k, s.shape[1])
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    order = np.lexsort((part, -np.take_along_axis(scores, part, axis=1)), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    return metrics_of(top, split.target, users, allowed_items=s.shape[1], k=k).ndcg


@dataclass
class WeightsResult:
    best: Weights
    trials: list[dict[str, Any]]
    not_judged: list[str]


def validate(
    s: Signals,
    *,
    start: Weights = DEFAULT,
    grid: dict[str, tuple[float | None, ...]] | None = None,
    holdout: int = 3,
    algorithm: str = "ease",
    params: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> WeightsResult:
    """Coordinate search over `grid` from `start`: each signal in turn takes its best value."""
    grid = grid if grid is not None else GRID
    split = validation_split(s, holdout=holdout)
    best = start
    cache: dict[Weights, float] = {}

    def trial(w: Weights) -> float:
        if w not in cache:
            cache[w] = score_weights(s, split, w, algorithm=algorithm, params=params)
            if progress:
                progress(f"{w.as_dict()}: ndcg@10={cache[w]:.4f}")
        return cache[w]

    not_judged = [name for name in SIGNALS if not s.carries(name)]
    best_score = trial(best)
    for name in SIGNALS:
        if name in not_judged:
            continue
        for value in grid[name]:
            candidate = replace(best, **{name: value})  # type: ignore[arg-type]
            score = trial(candidate)
            if score > best_score:
                best, best_score = candidate, score
    trials = [{"weights": w.as_dict(), "ndcg@10": round(v, 6)} for w, v in cache.items()]
    return WeightsResult(best=best, trials=trials, not_judged=not_judged)
