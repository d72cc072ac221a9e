"""EASE (Steck 2019): closed-form item-item weights B with a zero diagonal, L2 strength lambda."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import InteractionData, Recommender


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
    upper = np.triu(inv)
    upper += np.triu(inv, 1).T
    return upper


def gram_of(x: sp.csr_matrix) -> np.ndarray:
    """X'X of a binary users x items matrix, dense float32 (counts are exact in float32)."""
    return np.asarray((x.T @ x).todense(), dtype=np.float32)


def ease_weights(gram: np.ndarray, lambda_: float) -> np.ndarray:
    """EASE's B from a Gram matrix (left untouched, so a search reuses one Gram)."""
    a = gram.copy()
    a[np.diag_indices_from(a)] += np.float32(lambda_)
    # one BLAS thread: on the shared 2-core machine two threads took 5-10x the wall time of
    # one (their spin-waits compete with every other process); see docs/benchmarks.md
    with threadpool_limits(limits=1, user_api="blas"):
        p = _spd_inverse(a)
    b = p / -np.diag(p)[np.newaxis, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


class EASE(Recommender):
    """B = I - P diagMat(1 / diag(P)) with P = (X'X + lambda I)^-1; scores = x_u B.

    Exact and fast while items number in the tens of thousands (one items x items inverse).
    A user's scores depend only on their history row: fold-in is free.
    """

    name: ClassVar[str] = "ease"
    search_space: ClassVar[list[dict[str, Any]]] = [
        {"lambda_": lam} for lam in (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
    ]
    search_ordered: ClassVar[bool] = True

    def __init__(self, lambda_: float = 250.0) -> None:
        super().__init__(lambda_=float(lambda_))
        self.lambda_ = float(lambda_)
        self.B = np.zeros((0, 0), dtype=np.float32)

    def fit(self, data: InteractionData) -> None:
        x = _binary(data.weights)
        self.n_items = x.shape[1]
        self.B = ease_weights(gram_of(x), self.lambda_)

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        x = _binary(sp.csr_matrix(history)).astype(np.float32)
        return np.asarray(x @ self.B, dtype=np.float64)

    def explain(self, history: sp.csr_matrix, item: int, *, top: int = 3) -> list[int]:
        hist_items = _binary(sp.csr_matrix(history)).indices
        contrib = self.B[hist_items, item].astype(np.float64)
        order = np.lexsort((hist_items, -contrib))
        return [int(hist_items[j]) for j in order[:top] if contrib[j] > 0]

    def similar_items(self, item: int) -> np.ndarray:
        return self.B[item].astype(np.float64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"]
        self.n_items = int(self.B.shape[1])
