"""Time-decayed popularity, per group (country) with a global fallback."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommendations.algorithms.base import InteractionData, Recommender

DAY = 86400.0


class Popularity(Recommender):
    """score(item) = sum over interactions of weight * 0.5 ** (age / half_life).

    Age is measured from the newest interaction in the data (so a model is reproducible).
    A user's group row is blended with the global row so a small country still ranks everything.
    """

    name: ClassVar[str] = "popularity"
    search_space: ClassVar[list[dict[str, Any]]] = [
        {"half_life_days": h} for h in (7.0, 30.0, 90.0, 365.0, 0.0)
    ]

    def __init__(self, half_life_days: float = 30.0, group_blend: float = 0.8) -> None:
        super().__init__(half_life_days=float(half_life_days), group_blend=float(group_blend))
        self.half_life_days = float(half_life_days)
        self.group_blend = float(group_blend)
        self.by_group = np.zeros((1, 0), dtype=np.float64)
        self.overall = np.zeros(0, dtype=np.float64)

    def fit(self, data: InteractionData) -> None:
        n_users, self.n_items = data.shape
        rows, cols, w, ts = data.triples()
        if self.half_life_days > 0 and ts.size:
            age = ts.max() - ts
            decay = np.power(0.5, age / (self.half_life_days * DAY))
        else:
            decay = np.ones(ts.size)
        contrib = w.astype(np.float64) * decay
        groups = data.groups if data.groups is not None else np.zeros(n_users, dtype=np.int64)
        n_groups = max(data.n_groups, 1)
        self.by_group = np.zeros((n_groups, self.n_items), dtype=np.float64)
        np.add.at(self.by_group, (groups[rows], cols), contrib)
        self.overall = self.by_group.sum(axis=0)

    def _normalised(self, row: np.ndarray) -> np.ndarray:
        total = row.sum()
        return row / total if total > 0 else row

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        n = history.shape[0]
        overall = self._normalised(self.overall)
        if groups is None:
            return np.tile(overall, (n, 1))
        out = np.empty((n, self.n_items), dtype=np.float64)
        for row, g in enumerate(groups):
            if 0 <= g < self.by_group.shape[0]:
                out[row] = (
                    self.group_blend * self._normalised(self.by_group[g])
                    + (1 - self.group_blend) * overall
                )
            else:
                out[row] = overall
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"by_group": self.by_group, "overall": self.overall}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.by_group = arrays["by_group"]
        self.overall = arrays["overall"]
        self.n_items = int(self.overall.shape[0])
