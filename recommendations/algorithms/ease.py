"""EASE (Steck 2019): closed-form item-item weights B with a zero diagonal, L2 strength lambda."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import InteractionData, Recommender, dense_gram_pays


def _binary(x: sp.csr_matrix) -> sp.csr_matrix:
    b = sp.csr_matrix(x, dtype=np.float64, copy=True)
    b.data = (b.data > 0).astype(np.float64)
    b.eliminate_zeros()
    return b


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (about half of a general
    inverse's work); X'X + lambda I with lambda > 0 always is one. Single precision when `a`
    is float32: half the time of double, and the ranking it gives is the same (tested)."""
    single = a.dtype == np.float32
    potrf, potri = (lapack.spotrf, lapack.spotri) if single else (lapack.dpotrf, lapack.dpotri)
    c, info = potrf(a, lower=False, overwrite_a=True)
    if info != 0:
        return np.linalg.inv(a)
    inv, info = potri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed ({info})")
    # potri fills the upper triangle only: mirror it into the lower one
    _mirror_upper(inv)
    return inv


def _mirror_upper(a: np.ndarray, block: int = 512) -> None:
    """Copy the upper triangle of square `a` onto its lower one, in place, a block of rows at
    a time (at 4,000 titles 0.06 s of CPU, where two `np.triu` and a sum took 0.34 s)."""
    n = a.shape[0]
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        a[lo:hi, :lo] = a[:lo, lo:hi].T
        square = a[lo:hi, lo:hi]
        below = np.tril_indices(hi - lo, -1)
        square[below] = square.T[below]


def gram_of(x: sp.csr_matrix) -> np.ndarray:
    """X'X of a users x items matrix, dense float32 (binary counts are exact in float32), by a
    dense or a sparse product, whichever does less work (`dense_gram_pays`)."""
    if dense_gram_pays(x):
        d = x.astype(np.float32).toarray()
        with threadpool_limits(limits=1, user_api="blas"):
            return np.asarray(d.T @ d, dtype=np.float32)
    return np.asarray((x.T @ x).todense(), dtype=np.float32)


def ease_weights(gram: np.ndarray, lambda_: float) -> np.ndarray:
    """EASE's B from a Gram matrix (left untouched, so a search reuses one Gram)."""
    a = gram.copy()
    a[np.diag_indices_from(a)] += np.float32(lambda_)
    # one BLAS thread: on the shared 2-core machine two threads took 5-10x the wall time of
    # one (their spin-waits compete with every other process); see docs/benchmarks.md
    with threadpool_limits(limits=1, user_api="blas"):
        p = _spd_inverse(a)
    if not p.flags.c_contiguous:
        # LAPACK hands back column order; P is symmetric, so its transpose is the same matrix
        # in row order, which every `history @ B` needs (scipy copied an F-ordered B on each
        # score: 0.15 s of a MovieLens-100K retrain)
        p = p.T
    b = p / -np.diag(p)[np.newaxis, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


class EASE(Recommender):
    """B = I - P diagMat(1 / diag(P)) with P = (X'X + lambda I)^-1; scores = x_u B.

    Exact while items number in the thousands (one items x items inverse, n^3 work). Past
    `max_items` titles only the `max_items` most watched get weights (ties: lower index); the
    rest score just below each row's lowest modelled score. On ml-latest-small (9,724 titles)
    the full inverse took over 30 s of CPU per fit; 4,000 titles take about a fifteenth of it.
    A user's scores depend only on their history row: fold-in is free.
    """

    name: ClassVar[str] = "ease"
    search_space: ClassVar[list[dict[str, Any]]] = [
        {"lambda_": lam} for lam in (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
    ]
    search_ordered: ClassVar[bool] = True

    def __init__(self, lambda_: float = 250.0, max_items: int = 4000) -> None:
        super().__init__(lambda_=float(lambda_), max_items=int(max_items))
        self.lambda_ = float(lambda_)
        self.B = np.zeros((0, 0), dtype=np.float32)
        self.kept = np.zeros(0, dtype=np.int64)  # item indices B covers, ascending

    def fit(self, data: InteractionData) -> None:
        x = _binary(data.weights)
        self.n_items = x.shape[1]
        self.kept = most_watched(x, int(self.params["max_items"]))
        # one Gram per data and title cap: a lambda search fits every lambda on the same data
        key = ("ease_gram", int(self.params["max_items"]))
        gram = data.memo.get(key)
        if gram is None:
            gram = data.memo[key] = gram_of(x[:, self.kept])
        self.B = ease_weights(gram, self.lambda_)

    def _local(self, history: sp.csr_matrix) -> sp.csr_matrix:
        x = _binary(sp.csr_matrix(history)).astype(np.float32)
        return x if self.kept.size == self.n_items else x[:, self.kept]

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        local = np.asarray(self._local(history) @ self.B, dtype=np.float64)
        if self.kept.size == self.n_items:
            return local
        floor = local.min(axis=1, initial=0.0) - 1.0
        out = np.repeat(floor[:, None], self.n_items, axis=1)
        out[:, self.kept] = local
        return out

    def explain(self, history: sp.csr_matrix, item: int, *, top: int = 3) -> list[int]:
        pos = np.searchsorted(self.kept, item)
        if pos >= self.kept.size or self.kept[pos] != item:
            return []
        local = self._local(history).indices
        contrib = self.B[local, pos].astype(np.float64)
        hist_items = self.kept[local]
        order = np.lexsort((hist_items, -contrib))
        return [int(hist_items[j]) for j in order[:top] if contrib[j] > 0]

    def similar_items(self, item: int) -> np.ndarray:
        out = np.zeros(self.n_items, dtype=np.float64)
        pos = np.searchsorted(self.kept, item)
        if pos < self.kept.size and self.kept[pos] == item:
            out[self.kept] = self.B[pos]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B, "kept": self.kept, "n_items": np.array([self.n_items])}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"]
        if "kept" in arrays:  # artifacts from before max_items cover every title
            self.kept = np.asarray(arrays["kept"], dtype=np.int64)
            self.n_items = int(arrays["n_items"][0])
        else:
            self.n_items = int(self.B.shape[1])
            self.kept = np.arange(self.n_items)


def most_watched(x: sp.csr_matrix, limit: int) -> np.ndarray:
    """Indices of the `limit` items with most interactions (ties: lower index), ascending."""
    n = x.shape[1]
    if n <= limit:
        return np.arange(n)
    counts = np.asarray(x.getnnz(axis=0))
    order = np.lexsort((np.arange(n), -counts))
    return np.sort(order[:limit])
