"""The billing clock: every service and task asks `now()` here, so tests can move time.

Tests use `frozen(at)` / `set_now(at)` (or pass `now=` to services and tasks); never sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_override: datetime | None = None


def now() -> datetime:
    return _override if _override is not None else timezone.now()


def set_now(at: datetime | None) -> None:
    """Pin the clock at `at` (aware datetime); None returns to real time."""
    global _override
    if at is not None and timezone.is_naive(at):
        raise ValueError("the billing clock needs an aware datetime")
    _override = at


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    previous = _override
    set_now(at)
    try:
        yield
    finally:
        set_now(previous)
