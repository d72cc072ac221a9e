"""The common interface of every recommender: fit on a users x items CSR matrix, score histories."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

#: past this many cells (users x items) a history matrix is never made dense
DENSE_CELLS = 20_000_000


def dense_gram_pays(x: sp.csr_matrix) -> bool:
    """Whether X'X of a users x items history matrix is cheaper as a dense BLAS product than as
    a sparse one: the dense product does users x items x items multiplications at about 300x
    the sparse product's rate per multiplication, and the sparse one does the sum of each
    user's history length squared (measured: MovieLens-100K dense 0.02 s against 0.06 s;
    ml-latest-small's 9,724 titles sparse 1.6 s against 1.9 s). EASE and item-kNN both ask."""
    users, items = x.shape
    if users * items > DENSE_CELLS:
        return False
    lengths = np.diff(sp.csr_matrix(x).indptr).astype(np.float64)
    return users * items * items <= 300.0 * float((lengths * lengths).sum())


@dataclass
class InteractionData:
    """Implicit feedback: weights and timestamps (unix seconds) on the same sparsity pattern.

    `groups` gives each user a small integer group (their country) for per-group popularity.
    """

    weights: sp.csr_matrix
    timestamps: sp.csr_matrix
    groups: np.ndarray | None = None
    n_groups: int = 1
    #: optional item side information: items x genres (0/1) and release time (unix s, NaN unknown)
    item_genres: sp.csr_matrix | None = None
    item_released: np.ndarray | None = None
    #: optional user-side signals outside the weights (users x items, value = when, unix s):
    #: titles in My List, titles started and not finished (Continue Watching). Consumers keep
    #: only entries up to the time they compute for, so a split cannot leak through them.
    my_list: sp.csr_matrix | None = None
    unfinished: sp.csr_matrix | None = None
    #: what is derived from this (unchanging) data once and asked for again: its temporal
    #: splits, EASE's Gram matrix (a validation search fits one model per lambda on one split)
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_triples(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        weights: np.ndarray,
        timestamps: np.ndarray,
        *,
        shape: tuple[int, int],
        groups: np.ndarray | None = None,
        item_genres: sp.csr_matrix | None = None,
        item_released: np.ndarray | None = None,
        my_list: sp.csr_matrix | None = None,
        unfinished: sp.csr_matrix | None = None,
    ) -> InteractionData:
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        keys = users * shape[1] + items
        if np.unique(keys).size != keys.size:
            raise ValueError("each (user, item) pair must appear once")
        w = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (users, items)), shape=shape, dtype=np.float32
        )
        t = sp.csr_matrix((np.asarray(timestamps, dtype=np.float64), (users, items)), shape=shape)
        w.sort_indices()
        t.sort_indices()
        n_groups = int(groups.max()) + 1 if groups is not None and groups.size else 1
        return cls(
            weights=w,
            timestamps=t,
            groups=groups,
            n_groups=n_groups,
            item_genres=item_genres,
            item_released=item_released,
            my_list=my_list,
            unfinished=unfinished,
        )

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape  # type: ignore[return-value]

    @property
    def nnz(self) -> int:
        return int(self.weights.nnz)

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(users, items, weights, timestamps), one entry per interaction, by user then item."""
        w, t = self.weights, self.timestamps
        if (
            isinstance(w, sp.csr_matrix)
            and isinstance(t, sp.csr_matrix)
            and w.has_sorted_indices
            and t.has_sorted_indices
            and np.array_equal(w.indptr, t.indptr)
            and np.array_equal(w.indices, t.indices)
        ):
            # already in that order (as `from_triples` leaves them): no sort
            users = np.repeat(np.arange(w.shape[0], dtype=np.int64), np.diff(w.indptr))
            return users, w.indices.astype(np.int64), w.data.copy(), t.data.copy()
        coo = self.weights.tocoo()
        tcoo = self.timestamps.tocsr().tocoo()
        order_w = np.lexsort((coo.col, coo.row))
        order_t = np.lexsort((tcoo.col, tcoo.row))
        return (
            coo.row[order_w].astype(np.int64),
            coo.col[order_w].astype(np.int64),
            coo.data[order_w],
            tcoo.data[order_t],
        )

    def subset(self, keep: np.ndarray) -> InteractionData:
        """The same users and items, keeping only the interactions where `keep` (triples order)."""
        u, i, w, t = self.triples()
        return InteractionData.from_triples(
            u[keep],
            i[keep],
            w[keep],
            t[keep],
            shape=self.shape,
            groups=self.groups,
            item_genres=self.item_genres,
            item_released=self.item_released,
            my_list=self.my_list,
            unfinished=self.unfinished,
        )


@dataclass
class Recommendation:
    item: int
    score: float
    because: list[int] = field(default_factory=list)


class Recommender(ABC):
    """Fit once on training data; score any user's history vector afterwards (fold-in).

    Scores are for ranking only: higher is better, comparable within one user.
    """

    name: ClassVar[str] = ""
    #: hyper-parameters the validation search tries, as a list of dicts
    search_space: ClassVar[list[dict[str, Any]]] = [{}]
    #: the space is one parameter in increasing order with a single validation peak, so the
    #: search may stop after `search_patience` trials in a row below the best
    search_ordered: ClassVar[bool] = False
    search_patience: ClassVar[int] = 2

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = params
        self.n_items = 0

    @abstractmethod
    def fit(self, data: InteractionData) -> None: ...

    def stage_model(self) -> Recommender | None:
        """A simpler fitted model inside this one that the gate should also beat (a two-stage
        model's EASE source), or None."""
        return None

    def refit(self, data: InteractionData) -> None:
        """Fit again on more data with what was learned kept where that is cheaper (the
        parameters chosen, a learned ranker); by default, simply `fit`."""
        self.fit(data)

    @abstractmethod
    def score(
        self,
        history: sp.csr_matrix,
        *,
        users: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> np.ndarray:
        """Dense scores (len(history) x n_items) for users with these history rows.

        `users` are row indices into the training matrix when the rows belong to training users
        (models with per-user state may use it); `groups` their groups (country).
        """

    def explain(self, history: sp.csr_matrix, item: int, *, top: int = 3) -> list[int]:
        """Items of one user's history that contribute most to `item`'s score, best first."""
        return []

    def similar_items(self, item: int) -> np.ndarray:
        """Similarity of every item to `item` (zeros when the model has no item-item notion)."""
        return np.zeros(self.n_items, dtype=np.float32)

    def recommend(
        self,
        history: sp.csr_matrix,
        *,
        k: int = 10,
        exclude: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        user: int | None = None,
        group: int | None = None,
        explain: bool = False,
    ) -> list[Recommendation]:
        """Top-k for one user. `exclude` and `allowed` are boolean masks over items.

        Items already in the history are always excluded.
        """
        history = sp.csr_matrix(history)
        scores = self.score(
            history,
            users=None if user is None else np.array([user]),
            groups=None if group is None else np.array([group]),
        )[0].astype(np.float64)
        top = top_k(scores, k=k, seen=history.indices, exclude=exclude, allowed=allowed)
        return [
            Recommendation(
                item=int(i),
                score=float(scores[i]),
                because=self.explain(history, int(i)) if explain else [],
            )
            for i in top
        ]

    # Persistence: every model turns into named numpy arrays (an .npz) and back.
    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None: ...


def top_k(
    scores: np.ndarray,
    *,
    k: int,
    seen: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the k best scores, best first, never a seen/excluded/disallowed item."""
    s = np.array(scores, dtype=np.float64, copy=True)
    s[~np.isfinite(s)] = np.finfo(np.float64).min / 4
    banned = np.zeros(s.shape[0], dtype=bool)
    if seen is not None and len(seen):
        banned[np.asarray(seen)] = True
    if exclude is not None:
        banned |= np.asarray(exclude, dtype=bool)
    if allowed is not None:
        banned |= ~np.asarray(allowed, dtype=bool)
    candidates = np.flatnonzero(~banned)
    if candidates.size == 0 or k <= 0:
        return np.empty(0, dtype=np.int64)
    cs = s[candidates]
    n = candidates.size
    part = np.argpartition(-cs, k - 1)[:k] if n > k else np.arange(n)
    # stable order: score desc, then item id asc, so ties are deterministic
    order = np.lexsort((candidates[part], -cs[part]))
    return candidates[part][order].astype(np.int64)
