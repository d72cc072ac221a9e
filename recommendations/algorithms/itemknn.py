"""Item-kNN: cosine similarity with shrinkage, top-k neighbours per item; explainable."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import InteractionData, Recommender


def _history_matrix(weights: sp.csr_matrix) -> sp.csr_matrix:
    # Dampen heavy rewatching: log(1 + w) keeps order but stops one binge dominating.
    x = sp.csr_matrix(weights, dtype=np.float32, copy=True)
    x.data = np.log1p(np.maximum(x.data, 0)).astype(np.float32)
    return x


#: up to this many items the similarity is computed densely (items x items float32 in memory)
DENSE_ITEMS = 4000


class ItemKNN(Recommender):
    """sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrink), keeping each item's `neighbours` best.

    A user's score for item j is sum over their history items i of x_ui * sim(i, j): no refit is
    needed for a new interaction, and the largest terms are the "because you watched" reasons.
    """

    name: ClassVar[str] = "itemknn"
    search_space: ClassVar[list[dict[str, Any]]] = [
        {"neighbours": k, "shrink": s} for k in (50, 200) for s in (0.0, 10.0, 50.0)
    ]

    def __init__(self, neighbours: int = 100, shrink: float = 10.0) -> None:
        super().__init__(neighbours=int(neighbours), shrink=float(shrink))
        self.neighbours = int(neighbours)
        self.shrink = float(shrink)
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, data: InteractionData) -> None:
        x = _history_matrix(data.weights)
        self.n_items = x.shape[1]
        if self.n_items <= DENSE_ITEMS and x.nnz >= 0.01 * x.shape[0] * x.shape[1]:
            self.similarity = self._fit_dense(x)
            return
        gram = (x.T @ x).tocsr().astype(np.float32)
        norms = np.sqrt(np.asarray(gram.diagonal(), dtype=np.float64))
        gram.setdiag(0)
        gram.eliminate_zeros()
        coo = gram.tocoo()
        denom = norms[coo.row] * norms[coo.col] + self.shrink
        vals = np.where(denom > 0, coo.data / np.where(denom > 0, denom, 1), 0).astype(np.float32)
        sim = sp.csr_matrix((vals, (coo.row, coo.col)), shape=gram.shape)
        self.similarity = self._prune(sim)

    def _fit_dense(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """The same similarity with items x items held densely: for a few thousand items the
        sparse product and the per-row pruning loop cost several times the dense work
        (MovieLens-100K: about 0.05 s instead of 0.18 s a fit)."""
        d = x.toarray()
        with threadpool_limits(limits=1, user_api="blas"):
            gram = d.T @ d
        n, k = gram.shape[0], min(self.neighbours, gram.shape[0] - 1)
        norms = np.sqrt(np.maximum(np.diag(gram), 0))
        together = gram > 0  # items a common viewer watched: the sparse product's entries
        np.fill_diagonal(together, False)
        denom = np.outer(norms, norms)
        denom += np.float32(self.shrink)
        np.divide(gram, denom, out=gram, where=denom > 0)
        gram[~together | (denom <= 0)] = 0
        if k <= 0:
            return sp.csr_matrix((n, n), dtype=np.float32)
        cols = np.argpartition(-gram, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(gram, cols, axis=1)
        keep = np.take_along_axis(together, cols, axis=1)
        rows = np.repeat(np.arange(n), keep.sum(axis=1))
        out = sp.csr_matrix(
            (vals[keep].astype(np.float32), (rows, cols[keep])), shape=(n, n), dtype=np.float32
        )
        out.sort_indices()
        return out

    def _prune(self, sim: sp.csr_matrix) -> sp.csr_matrix:
        """Keep each row's `neighbours` largest entries (row i: the items most like i)."""
        rows, cols, vals = [], [], []
        for i in range(sim.shape[0]):
            start, end = sim.indptr[i], sim.indptr[i + 1]
            if end == start:
                continue
            idx = sim.indices[start:end]
            v = sim.data[start:end]
            if v.size > self.neighbours:
                keep = np.argpartition(-v, self.neighbours - 1)[: self.neighbours]
                idx, v = idx[keep], v[keep]
            rows.append(np.full(idx.size, i))
            cols.append(idx)
            vals.append(v)
        if not rows:
            return sp.csr_matrix(sim.shape, dtype=np.float32)
        out = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=sim.shape,
            dtype=np.float32,
        )
        out.sort_indices()
        return out

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        x = _history_matrix(sp.csr_matrix(history))
        return np.asarray((x @ self.similarity).todense(), dtype=np.float64)

    def explain(self, history: sp.csr_matrix, item: int, *, top: int = 3) -> list[int]:
        x = _history_matrix(sp.csr_matrix(history))
        hist_items = x.indices
        contrib = x.data * np.asarray(self.similarity[hist_items, item].todense()).ravel()
        order = np.lexsort((hist_items, -contrib))
        return [int(hist_items[j]) for j in order[:top] if contrib[j] > 0]

    def similar_items(self, item: int) -> np.ndarray:
        return np.asarray(self.similarity[item].todense(), dtype=np.float64).ravel()

    def to_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {
            "data": s.data,
            "indices": s.indices,
            "indptr": s.indptr,
            "shape": np.array(s.shape),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        shape = tuple(int(v) for v in arrays["shape"])
        self.similarity = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape
        )
        self.n_items = shape[1]
