"""Item-kNN: cosine similarity with shrinkage, top-k neighbours per item; explainable."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import InteractionData, Recommender, dense_gram_pays


def _history_matrix(weights: sp.csr_matrix) -> sp.csr_matrix:
    # Dampen heavy rewatching: log(1 + w) keeps order but stops one binge dominating.
    x = sp.csr_matrix(weights, dtype=np.float32, copy=True)
    x.data = np.log1p(np.maximum(x.data, 0)).astype(np.float32)
    return x


#: the similarity is computed this many cells (items x items) at a time, then pruned
BLOCK_CELLS = 4_000_000


def _top_k_mask(sim: np.ndarray, k: int) -> np.ndarray:
    """Each row's `k` largest positive cells (fewer when it has fewer); among cells tied with
    the k-th value, the lowest columns. The candidates are the positive cells (the similarity
    is 0 elsewhere), so the row's k-th value is its k-th value overall, taken by
    `np.partition` (values only): on MovieLens-100K about a third of the CPU of an
    `argpartition` of the same block. A cell above a k-th value of 0 or more is positive, and
    a row whose k-th value is 0 has fewer than k candidates and no tie to break.
    """
    kth = np.partition(sim, sim.shape[1] - k, axis=1)[:, sim.shape[1] - k]
    above = sim > kth[:, None]
    tied = sim == kth[:, None]
    tied[kth <= 0] = False
    room = k - np.count_nonzero(above, axis=1)
    # Usually a row's ties all fit (one cell holds the k-th value): the lowest columns need
    # counting only in the rows where they do not.
    over = np.flatnonzero(np.count_nonzero(tied, axis=1) > room)
    if over.size:
        sub = tied[over]
        tied[over] = sub & (np.cumsum(sub, axis=1) <= room[over, None])
    return above | tied


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
        n = x.shape[1]
        self.n_items = n
        k = min(self.neighbours, n - 1)
        if k <= 0 or x.nnz == 0:
            self.similarity = sp.csr_matrix((n, n), dtype=np.float32)
            return
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0), dtype=np.float64).ravel())
        dense = x.toarray() if dense_gram_pays(x) else None
        columns = None if dense is not None else sp.csr_matrix(x.T)
        rows, cols, vals = [], [], []
        step = max(1, BLOCK_CELLS // n)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            # X'X for items lo..hi against every item, dense (a block of rows at a time)
            if dense is not None:
                with threadpool_limits(limits=1, user_api="blas"):
                    gram = dense[:, lo:hi].T @ dense
            else:
                gram = (columns[lo:hi] @ x).toarray()  # type: ignore[index]
            gram[np.arange(hi - lo), np.arange(lo, hi)] = 0  # an item is not its neighbour
            denom = (norms[lo:hi, None] * norms[None, :] + self.shrink).astype(np.float32)
            # positive exactly where a common viewer watched both (a positive Gram cell has
            # positive norms, so a positive denominator); with shrinkage every denominator is
            # positive, and the Gram's zeros stay zeros when divided in place
            if self.shrink > 0:
                sim = np.divide(gram, denom, out=gram)
            else:
                sim = np.divide(gram, denom, out=np.zeros_like(gram), where=gram > 0)
            keep = _top_k_mask(sim, k)
            r, c = np.nonzero(keep)
            rows.append(r + lo)
            cols.append(c)
            vals.append(sim[r, c])
        out = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n),
            dtype=np.float32,
        )
        out.sort_indices()
        self.similarity = out

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
