"""implicit's ALS (Hu, Koren, Volinsky 2008) on CPU, for comparison; fold-in by recalculate_user."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import InteractionData, Recommender


class ImplicitALS(Recommender):
    """Confidence 1 + alpha * w (alpha is applied by implicit). Defaults are implicit's own."""

    name: ClassVar[str] = "als"
    search_space: ClassVar[list[dict[str, Any]]] = [
        {"factors": f, "regularization": r, "alpha": a}
        for f in (64, 128)
        for r in (0.01, 0.1)
        for a in (1.0, 10.0)
    ]

    def __init__(
        self,
        factors: int = 100,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
        *,
        threads: int = 0,
    ) -> None:
        super().__init__(
            factors=int(factors),
            regularization=float(regularization),
            alpha=float(alpha),
            iterations=int(iterations),
            random_state=int(random_state),
        )
        self.user_factors = np.zeros((0, 0), dtype=np.float32)
        self.item_factors = np.zeros((0, 0), dtype=np.float32)
        self._model: Any = None
        #: implicit's own threads (0: one per core); how it runs, not what it learns
        self.threads = int(threads)

    def _new_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        with threadpool_limits(limits=1, user_api="blas"):
            return AlternatingLeastSquares(
                factors=int(p["factors"]),
                regularization=float(p["regularization"]),
                alpha=float(p["alpha"]),
                iterations=int(p["iterations"]),
                random_state=int(p["random_state"]),
                num_threads=self.threads,
            )

    def fit(self, data: InteractionData) -> None:
        self.n_items = data.shape[1]
        model = self._new_model()
        # implicit wants BLAS single-threaded (it parallelises itself).
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(sp.csr_matrix(data.weights, dtype=np.float32), show_progress=False)
        self._model = model
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _ensure_model(self) -> Any:
        if self._model is None:
            model = self._new_model()
            model.user_factors = self.user_factors
            model.item_factors = self.item_factors
            self._model = model
        return self._model

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User factors for these history rows, items held fixed (no retrain)."""
        model = self._ensure_model()
        x = sp.csr_matrix(history, dtype=np.float32)
        out = np.zeros((x.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        with threadpool_limits(limits=1, user_api="blas"):
            for row in range(x.shape[0]):
                if x[row].nnz:
                    out[row] = np.asarray(model.recalculate_user(0, x[row])).ravel()
        return out

    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        if users is not None and len(users) and users.max() < self.user_factors.shape[0]:
            uf = self.user_factors[users]
        else:
            uf = self.fold_in(history)
        return np.asarray(uf @ self.item_factors.T, dtype=np.float64)

    def similar_items(self, item: int) -> np.ndarray:
        f = self.item_factors
        norms = np.linalg.norm(f, axis=1) + 1e-9
        return np.asarray((f @ f[item]) / (norms * norms[item]), dtype=np.float64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
        self.n_items = int(self.item_factors.shape[0])
        self._model = None
