"""A learned "will this title be requested again on this edge within its cache lifetime" model.

In the spirit of Learning Relaxed Belady: gradient boosting (LightGBM) over features of each
session an edge served, computed from the edge's earlier sessions only: the gaps to the title's
two previous sessions there, its counts there over the last hour, day and week, the hours since
the edge first saw it, and the hour of day. The label says whether the title's next session on
the edge came within `horizon` seconds. `training_set(until=...)` keeps only sessions whose
label was known by then, so a model trained at `until` has seen nothing after it. `train`
returns None when there is nothing to learn from (one class only): callers then use the
frequency rule of `cdn.admission`.

Not wired into the edge policy's lists: it scores sessions, a list needs every title scored at
an update; the opt-in learned pin ranking is `cdn.demand_model` (see docs/cdn.md).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NEVER = 1e9  # a gap for "no earlier session": far beyond any cache lifetime
FEATURES = ("gap1", "gap2", "count_1h", "count_1d", "count_7d", "age_hours", "hour_of_day")


def features(sessions: Sequence[tuple[float, str]]) -> np.ndarray:
    """One row per session `(epoch seconds, content key)` of one edge, in time order, each
    from the sessions before it only."""
    seen: dict[str, list[float]] = {}
    rows = np.zeros((len(sessions), len(FEATURES)))
    for i, (ts, key) in enumerate(sessions):
        past = seen.setdefault(key, [])
        n = len(past)
        rows[i] = (
            ts - past[-1] if n else NEVER,
            ts - past[-2] if n > 1 else NEVER,
            n - bisect.bisect_left(past, ts - 3600),
            n - bisect.bisect_left(past, ts - 86_400),
            n - bisect.bisect_left(past, ts - 7 * 86_400),
            (ts - past[0]) / 3600 if n else 0.0,
            (ts % 86_400) // 3600,
        )
        past.append(ts)
    return rows


def labels(sessions: Sequence[tuple[float, str]], *, horizon: float) -> np.ndarray:
    """1 where the title's next session on this edge came within `horizon` seconds."""
    out = np.zeros(len(sessions), dtype=np.int8)
    nxt: dict[str, float] = {}
    for i in range(len(sessions) - 1, -1, -1):
        ts, key = sessions[i]
        later = nxt.get(key)
        out[i] = 1 if later is not None and later - ts <= horizon else 0
        nxt[key] = ts
    return out


def training_set(
    sessions: Sequence[tuple[float, str]], *, until: float, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the sessions whose label was settled by `until` (their horizon
    ended by then), computed from the sessions before `until` alone."""
    known = [s for s in sessions if s[0] < until]
    x, y = features(known), labels(known, horizon=horizon)
    settled = np.array([ts + horizon <= until for ts, _ in known], dtype=bool)
    return x[settled], y[settled]


@dataclass
class ReuseModel:
    booster: Any

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probability that each row's title is requested again within the horizon."""
        return np.asarray(self.booster.predict(rows))


def train(x: np.ndarray, y: np.ndarray, *, rounds: int = 60, seed: int = 1) -> ReuseModel | None:
    if len(y) == 0 or y.min() == y.max():
        return None
    import lightgbm

    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    data = lightgbm.Dataset(x, label=y, feature_name=list(FEATURES))
    return ReuseModel(lightgbm.train(params, data, num_boost_round=rounds))
