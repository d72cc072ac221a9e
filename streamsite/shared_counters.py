"""Shared counters (the catalogue version, the auth epoch) read once per request, together.

Several per-process caches are checked against a counter in the shared cache that every
writer bumps: the catalogue's fragments (catalog.caching) and the remembered API tokens
(accounts.token_cache). Reading each counter where it is needed costs one Redis round trip
apiece, several times in one request. Inside a request (`SharedCountersMiddleware`) the first
`read()` fetches every registered counter in one `get_many` and later reads in the same
request answer from that snapshot; a bump in this request (`forget()`) drops the snapshot, so
a request sees its own writes. Outside a request (tasks, commands, the shell) every `read()`
goes to the cache.

The snapshot lives in a ContextVar: one per thread under gthread, one per task under ASGI.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

_KEYS: list[str] = []
# None: not inside a request; {}: inside one, nothing read yet; else the snapshot.
_snapshot: ContextVar[dict[str, Any] | None] = ContextVar("shared_counters", default=None)
_UNREAD = "__unread__"


def register(key: str) -> str:
    """Fetch `key` with the others on a request's first read."""
    if key not in _KEYS:
        _KEYS.append(key)
    return key


def read(key: str) -> Any:
    """The counter's value (None when absent or the cache is away), once per request."""
    snapshot = _snapshot.get()
    if snapshot is None:
        return cache.get(key)
    if _UNREAD in snapshot:
        snapshot.clear()
        snapshot.update({k: None for k in _KEYS})
        snapshot.update(cache.get_many(_KEYS))
    if key not in snapshot:
        snapshot[key] = cache.get(key)
    return snapshot[key]


def forget() -> None:
    """A counter moved (this request bumped it): read them all again on the next read."""
    snapshot = _snapshot.get()
    if snapshot is not None:
        snapshot.clear()
        snapshot[_UNREAD] = True


class SharedCountersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _snapshot.set({_UNREAD: True})
        try:
            return self.get_response(request)
        finally:
            _snapshot.reset(token)
