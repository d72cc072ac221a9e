"""Shared counters (the catalogue version, the auth epoch, the ready-asset version) read once
per request, together, with whatever else the request already knows it will read or count.

Several per-process caches are checked against a counter in the shared cache that every
writer bumps: the catalogue's fragments (catalog.caching) and the remembered API tokens
(accounts.token_cache). Reading each counter where it is needed costs one Redis round trip
apiece, several times in one request. Inside a request (`SharedCountersMiddleware`) the first
`read()` fetches every registered counter in one `get_many` and later reads in the same
request answer from that snapshot; a bump in this request (`forget()`) drops the snapshot, so
a request sees its own writes. Outside a request (tasks, commands, the shell) every `read()`
goes to the cache.

A read that cannot wait (`get_now(key)`: the browser's session, loaded before any counter is
read) makes the first read happen at once, with `key` and whatever rode along so far.

Before that first read, code that already knows what the request will need can have it ride
along in the same round trip: `also_get(keys)` (read later with `get_many`, e.g. the rows
endpoint's body) and `also_count(key, timeout)` (a throttle's window counter, taken with
`take_count`). A counter is counted at most once per request: one that was not sent with the
first read is dropped when its owner takes it (`take_count` answers None and the owner counts
it itself). Riders are only read or counted, never trusted: their owner still decides, after
authentication and authorisation, whether what it asked for applies to this request.

The counters and the riders other code `keep()`s near (a profile's rows) are answered from
this process's near copies when it holds them (streamsite.near_cache): a request whose reads
all come from there, with nothing to count, makes no round trip.

The snapshot lives in a ContextVar: one per thread under gthread, one per task under ASGI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from streamsite import near_cache
from streamsite.cache import default_redis

_KEYS: list[str] = []


@dataclass
class _Request:
    values: dict[str, Any] | None = None  # None: the counters are not read (again) yet
    gets: list[str] = field(default_factory=list)  # riders, sent with the first read
    counters: dict[str, int] = field(default_factory=dict)  # riders: key -> timeout
    got: dict[str, Any] = field(default_factory=dict)  # riders read (absent: None)
    counts: dict[str, int] = field(default_factory=dict)  # riders counted
    sent: bool = False  # the riders went out (with the first read)


# None: not inside a request.
_state: ContextVar[_Request | None] = ContextVar("shared_counters", default=None)


def register(key: str) -> str:
    """Fetch `key` with the others on a request's first read (from this process's near copy
    while Redis has not said it changed: streamsite.near_cache)."""
    if key not in _KEYS:
        _KEYS.append(key)
    near_cache.keep(key)
    return key


def _fetch(state: _Request) -> None:
    if state.sent:
        state.values = {k: None for k in _KEYS} | cache.get_many(_KEYS)
        return
    state.sent = True
    keys = list(dict.fromkeys([*_KEYS, *state.gets]))
    redis = default_redis()
    if redis is not None:
        got = redis.get_many_and_count(keys, state.counters)
        values, counts = got if got is not None else ({}, {})  # the cache is away
    else:  # a cache without pipelines (tests' local memory): the same, in several calls
        values = cache.get_many(keys)
        counts = {}
        for key, timeout in state.counters.items():
            counted = count(key, timeout)
            if counted is not None:
                counts[key] = counted
    state.values = {k: values.get(k) for k in _KEYS}
    state.got = {k: values.get(k) for k in state.gets}
    state.counts = counts
    state.gets, state.counters = [], {}


def count(key: str, timeout: int) -> int | None:
    """Count `key` once (created with `timeout` seconds when missing): the new count, or
    None when the cache is away."""
    redis = default_redis()
    if redis is not None:  # created and counted in one round trip
        got = redis.get_many_and_count([], {key: timeout})
        return None if got is None else got[1][key]
    try:
        return int(cache.incr(key))
    except ValueError:  # the first count (or the cache is down)
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:
            return None


def read(key: str) -> Any:
    """The counter's value (None when absent or the cache is away), once per request."""
    state = _state.get()
    if state is None:
        return cache.get(key)
    if state.values is None:
        _fetch(state)
    assert state.values is not None
    if key not in state.values:
        state.values[key] = cache.get(key)
    return state.values[key]


def get_now(key: str) -> Any:
    """The value of `key` (None when absent or the cache is away), read now: with the
    request's first read of the counters when that has not happened yet (one round trip for
    both, and the counters are then known for the rest of the request), else on its own."""
    state = _state.get()
    if state is None or state.sent:
        return cache.get(key)
    state.gets.append(key)
    _fetch(state)
    return state.got.pop(key, None)


def also_get(keys: Iterable[str]) -> None:
    """Read `keys` with this request's first read of the counters, if it has not happened."""
    state = _state.get()
    if state is not None and not state.sent:
        state.gets.extend(keys)


def unsent() -> bool:
    """Inside a request whose first read has not happened: riders would still go with it."""
    state = _state.get()
    return state is not None and not state.sent


def also_count(key: str, timeout: int) -> None:
    """Count `key` with this request's first read of the counters, if it has not happened."""
    state = _state.get()
    if state is not None and not state.sent:
        state.counters[key] = timeout


def get_many(keys: list[str]) -> dict[str, Any]:
    """Like cache.get_many, answering from what rode along with the first read (each rider
    once) and fetching the rest in one call (from this process's near copies where it holds
    them)."""
    state = _state.get()
    found: dict[str, Any] = {}
    missing = []
    for key in keys:
        if state is not None and key in state.got:
            value = state.got.pop(key)
            if value is not None:
                found[key] = value
        else:
            missing.append(key)
    if missing:
        redis = default_redis()
        if redis is None:
            found.update(cache.get_many(missing))
        else:  # near copies answer the keys they hold
            got = redis.get_many_and_count(missing, {})
            found.update(got[0] if got is not None else {})
    return found


def take_count(key: str) -> int | None:
    """The count of `key` made with the first read (this request included), once; None when
    it was not counted there (then it never will be: the caller counts it itself)."""
    state = _state.get()
    if state is None:
        return None
    state.counters.pop(key, None)
    return state.counts.pop(key, None)


def forget() -> None:
    """A counter moved (this request bumped it): read them all again on the next read.
    Riders read before the bump are dropped too (their owners read them again)."""
    state = _state.get()
    if state is not None:
        state.values = None
        state.got.clear()


@contextmanager
def request_scope() -> Iterator[None]:
    """One request's snapshot and riders (the middleware; tests)."""
    token = _state.set(_Request())
    try:
        yield
    finally:
        _state.reset(token)


class SharedCountersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_scope():
            return self.get_response(request)
