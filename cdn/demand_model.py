"""A learned ranking for the pin lists: which titles an edge will be asked for next.

At each list update (the start of an interval in which the edge serves sessions) every title
seen anywhere so far is described from the sessions before that moment only: the edge's own
counts and every edge's counts, each with several decay half-lives (a day, a week, a month,
half a year; "counts at several windows"), the hours since the edge's and since any edge's
last session of it, its age since any edge first served it, the edge's and all edges' recent
totals, and the hour of day. The label, known once the edge has served `horizon` more
sessions, says whether one of them was this title; ranking by the predicted probability puts
first what the next `horizon` sessions will ask for, whether the edge serves them in an hour or
in a month (MovieLens sites are idle for days, then one viewer plays thirty titles).

A LightGBM model (in the spirit of Learning Relaxed Belady) is trained every `every` seconds
from the samples whose labels were settled by then, pooled over the edges (the planner sees
every edge's log). Before the first model, `score` returns None and the planner uses the
frequency rule of `cdn.admission`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HALF_LIVES = (86_400.0, 7 * 86_400.0, 30 * 86_400.0, 182 * 86_400.0)
NEVER_H = 1e6  # hours since a session that never happened
FEATURES = (
    *(f"local_{int(h // 86_400)}d" for h in HALF_LIVES),
    *(f"global_{int(h // 86_400)}d" for h in HALF_LIVES),
    "local_gap_h",
    "global_gap_h",
    "age_h",
    "local_total_7d",
    "global_total_7d",
    "hour_of_day",
)


class DecayedCounts:
    """Per title, counts of sessions decaying with each of `HALF_LIVES`, plus the last and
    first session times; `advance(t)` takes in the sessions before `t`, in time order."""

    def __init__(self, ts: np.ndarray, keys: np.ndarray, titles: int) -> None:
        self.ts, self.keys = ts, keys
        self.rates = np.log(2.0) / np.array(HALF_LIVES)
        self.counts = np.zeros((len(HALF_LIVES), titles))
        self.last = np.full(titles, -np.inf)
        self.first = np.full(titles, np.inf)
        self.now = -np.inf
        self.done = 0

    def advance(self, t: float) -> None:
        if t < self.now:
            raise ValueError("time runs forward")
        upto = int(np.searchsorted(self.ts, t, side="left"))
        if math.isfinite(self.now):
            self.counts *= np.exp(-self.rates * (t - self.now))[:, None]
        if upto > self.done:
            ts, keys = self.ts[self.done : upto], self.keys[self.done : upto]
            weights = np.exp(-self.rates[:, None] * (t - ts)[None, :])
            for j in range(len(HALF_LIVES)):
                self.counts[j] += np.bincount(keys, weights[j], minlength=self.counts.shape[1])
            self.last[keys] = ts  # in time order: the latest wins
            np.minimum.at(self.first, keys, ts)
            self.done = upto
        self.now = t


def feature_rows(
    local: DecayedCounts, glob: DecayedCounts, titles: np.ndarray, *, edges: int
) -> np.ndarray:
    """The features of `titles` at the moment both counters were advanced to."""
    t = local.now
    rows = np.empty((len(titles), len(FEATURES)))
    n = len(HALF_LIVES)
    rows[:, :n] = local.counts[:, titles].T
    rows[:, n : 2 * n] = glob.counts[:, titles].T / edges
    rows[:, 2 * n] = np.minimum(NEVER_H, (t - local.last[titles]) / 3600)
    rows[:, 2 * n + 1] = np.minimum(NEVER_H, (t - glob.last[titles]) / 3600)
    rows[:, 2 * n + 2] = np.maximum(0.0, (t - glob.first[titles]) / 3600)
    week = HALF_LIVES.index(7 * 86_400.0)
    rows[:, 2 * n + 3] = local.counts[week].sum()
    rows[:, 2 * n + 4] = glob.counts[week].sum() / edges
    rows[:, 2 * n + 5] = (t % 86_400) // 3600
    return rows


def next_sessions_label(
    ts: np.ndarray, keys: np.ndarray, at: float, titles: np.ndarray, *, horizon: float
) -> tuple[np.ndarray, float] | None:
    """Per title, how many of the edge's sessions in the `horizon` seconds from `at` were of
    it, and when that became known (`at + horizon`); None when the edge's log ends first."""
    if not len(ts) or at + horizon > ts[-1]:
        return None
    lo = int(np.searchsorted(ts, at, side="left"))
    hi = int(np.searchsorted(ts, at + horizon, side="left"))
    ahead = np.bincount(keys[lo:hi], minlength=int(titles.max()) + 1)
    return ahead[titles].astype(np.float64), at + horizon


@dataclass
class Sample:
    edge: str
    at: float
    settled: float  # when the label was known: it may be used from then on
    x: np.ndarray
    y: np.ndarray


@dataclass
class LearnedRanking:
    """The models trained over a trace (each usable from the time it was trained at) and
    every edge's sessions; `score(edge, at)` is the latest model's prediction for every title
    at `at` (-inf for titles nobody has played before it), or None before the first model.
    Scores are kept: a replay at another cache size asks for the same ones."""

    sessions: dict[str, tuple[np.ndarray, np.ndarray]]
    titles: int
    models: list[tuple[float, Any]] = field(default_factory=list)
    rows_trained: list[int] = field(default_factory=list)
    scores: dict[tuple[str, float], np.ndarray | None] = field(default_factory=dict)
    _counters: dict[str, tuple[DecayedCounts, DecayedCounts]] = field(default_factory=dict)

    def model_at(self, at: float) -> Any:
        i = bisect.bisect_right([t for t, _ in self.models], at)
        return self.models[i - 1][1] if i else None

    def score(self, edge: str, at: float) -> np.ndarray | None:
        if (edge, at) not in self.scores:
            model = self.model_at(at)
            if model is None:
                return None
            local, glob = self._counters_at(edge, at)
            self.scores[(edge, at)] = _predict(model, local, glob, self.titles, len(self.sessions))
        return self.scores[(edge, at)]

    def _counters_at(self, edge: str, at: float) -> tuple[DecayedCounts, DecayedCounts]:
        counters = self._counters.get(edge)
        if counters is None or counters[0].now > at:  # a new replay starts from the beginning
            ts, keys = _pooled(self.sessions)
            counters = (
                DecayedCounts(*self.sessions[edge], self.titles),
                DecayedCounts(ts, keys, self.titles),
            )
            self._counters[edge] = counters
        counters[0].advance(at)
        counters[1].advance(at)
        return counters


def _pooled(sessions: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    edges = sorted(sessions)
    if not edges:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    ts = np.concatenate([sessions[e][0] for e in edges])
    keys = np.concatenate([sessions[e][1] for e in edges]).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    return ts[order], keys[order]


def _predict(
    model: Any, local: DecayedCounts, glob: DecayedCounts, titles: int, edges: int
) -> np.ndarray | None:
    known = np.flatnonzero(np.isfinite(glob.first))
    if not len(known):
        return None
    full = np.full(titles, -np.inf)
    full[known] = model.predict(feature_rows(local, glob, known, edges=edges))
    return full


def build_ranking(
    *,
    sessions: dict[str, tuple[np.ndarray, np.ndarray]],
    updates: dict[str, list[float]],
    titles: int,
    every: float,
    horizon: float,
    negatives: float = 0.1,
    max_rows: int = 400_000,
    rounds: int = 60,
    seed: int = 1,
) -> LearnedRanking:
    """Walk every edge's list updates (`updates`: the times the planner decides at) in time
    order. At each one the edge's features are computed from the sessions before it, scored
    by the latest model if there is one, and kept as a training sample whose label comes due
    once the edge has served `horizon` more sessions. A model is trained every `every` seconds
    from the samples settled by then: all their positives, a deterministic `negatives` share
    of the rest, the newest first up to `max_rows`."""
    edges = sorted(sessions)
    glob = DecayedCounts(*_pooled(sessions), titles)
    local = {e: DecayedCounts(*sessions[e], titles) for e in edges}
    moments = sorted((at, e) for e in edges for at in updates.get(e, []))
    out = LearnedRanking(sessions=sessions, titles=titles)
    pending: list[Sample] = []
    settled: list[Sample] = []
    model: Any = None
    next_train = moments[0][0] + every if moments else math.inf
    rng = np.random.default_rng(seed)
    for at, edge in moments:
        while at >= next_train:
            settled.extend(s for s in pending if s.settled < next_train)
            pending = [s for s in pending if s.settled >= next_train]
            trained = _train(settled, negatives=negatives, max_rows=max_rows, rounds=rounds)
            if trained is not None:
                model = trained[0]
                out.models.append((next_train, model))
                out.rows_trained.append(trained[1])
            next_train += every
        glob.advance(at)
        local[edge].advance(at)
        known = np.flatnonzero(np.isfinite(glob.first))
        if not len(known):
            continue
        x = feature_rows(local[edge], glob, known, edges=len(edges))
        if model is not None:
            full = np.full(titles, -np.inf)
            full[known] = model.predict(x)
            out.scores[(edge, at)] = full
        label = next_sessions_label(*sessions[edge], at, known, horizon=horizon)
        if label is not None:
            y, due = label
            keep = (y > 0) | (rng.random(len(y)) < negatives)
            pending.append(Sample(edge, at, due, x[keep], y[keep]))
    return out


def _train(
    samples: Sequence[Sample], *, negatives: float, max_rows: int, rounds: int
) -> tuple[Any, int] | None:
    xs, ys, rows = [], [], 0
    for s in reversed(samples):  # the newest first
        if rows >= max_rows:
            break
        xs.append(s.x)
        ys.append(s.y)
        rows += len(s.y)
    if not xs:
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    if y.min() == y.max():
        return None
    import lightgbm

    params = {
        "objective": "poisson",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "seed": 1,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    data = lightgbm.Dataset(x, label=y, feature_name=list(FEATURES))
    return lightgbm.train(params, data, num_boost_round=rounds), len(y)
