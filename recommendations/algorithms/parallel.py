"""Independent steps of a training on threads: the sources' fits, an evaluation's batches.

NumPy's products and sorts, implicit's ALS and LightGBM's prediction release the GIL, so two
such steps run on two cores at once. Each step stays single-threaded inside (training runs
under one BLAS and OpenMP thread: a second thread inside a small product mostly spin-waits),
so the cores are shared between whole steps instead, and the CPU spent is the same as in
order while the wall time falls.

Only inside `threads(n)` (the training service opens it); everywhere else, serving included,
`map` runs its calls in order on the calling thread. A call already running on one of the
pool's threads also runs its own `map` inline, so nested maps cannot wait on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# (a pool's threads do not inherit the context: inside them the pool is None, hence inline)
_pool: ContextVar[ThreadPoolExecutor | None] = ContextVar("recs_train_pool", default=None)


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Within this block `map` spreads its calls over `n` threads (n <= 1: in order)."""
    if n <= 1:
        yield
        return
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="recs-train") as pool:
        token = _pool.set(pool)
        try:
            yield
        finally:
            _pool.reset(token)


def map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:  # noqa: A001 - the pool's verb
    """`[fn(item) for item in items]`, on the pool's threads when one is open; results in the
    items' order, and the first exception raised is raised here (after every call ended)."""
    items = list(items)
    pool = _pool.get()
    if pool is None or len(items) < 2:
        return [fn(item) for item in items]
    futures = [pool.submit(fn, item) for item in items]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def run(*steps: Callable[[], object]) -> list[Any]:
    """Each step called (side by side inside `threads`); their results in order."""
    return map(_call, steps)


def _call(step: Callable[[], object]) -> object:
    return step()


def active() -> bool:
    """Whether `map` would use threads here."""
    return _pool.get() is not None
