"""Shared catalogue fragments in the cache, invalidated by a catalogue version.

What the catalogue shows depends on what really varies between viewers: their country, their
maturity ceiling and their language, plus the page asked for. A fragment is cached under
those and stamped with the catalogue *version*, a counter every write to a title, its
availability, artwork, genres, credits, seasons or episodes bumps (catalog.receivers: once the
writing transaction commits, at once outside one), so a change is visible on the next
request. A fragment also expires by itself: after CATALOG_CACHE_SECONDS, and no later than
the next licensing window that opens or closes (time changes what is available without any
write). With the cache down every read is a miss and pages are built from the database
(streamsite.cache).

A fragment past its CATALOG_CACHE_SECONDS is *stale*, not gone: for CATALOG_STALE_SECONDS
more, and never past the next licensing window, it is still the answer while one request
refreshes it (stale-while-revalidate, RFC 5861's idea). Only time can have changed it, and
the version says no write has: what moves is popularity order (view counts are not
versioned). One request across all processes claims the refresh (`cache.add`), and a process
refreshes at most one fragment at a time and then rests three times as long as the build
took, so fragments built together (after a quiet spell, every one has gone stale) are
rebuilt one after another instead of all at once in front of the queue. A refresh the
database fails leaves the stale fragment as the answer (outside a transaction of the caller's).

Each process also keeps its own copy of the fragments it read (`_copies`), under the version
and the deadline they were stored with: while the version a request reads
(streamsite.shared_counters: one round trip for all counters, once per request) is the one a
copy carries, the copy is the answer, with no transfer and no unpickling of model instances.
So invalidation stays the shared version, across every process. A version starts from the
clock (microseconds), so one started again after Redis lost it never equals an old one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Min, Q
from django.utils import timezone, translation

from streamsite import shared_counters
from streamsite.db.transactions import CommitHook, in_program_transaction

if TYPE_CHECKING:  # the selectors use this module
    from catalog.selectors.viewer import Viewer

logger = logging.getLogger(__name__)
VERSION_KEY = shared_counters.register("catalog:version")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
# Per-process copies: a process holds at most this many (cleared whole when full).
COPIES_MAX = 2000
# A refresh claimed and not finished in this long (its process died) may be claimed again.
REFRESH_CLAIM_SECONDS = 30
# After refreshing a stale fragment a process waits this many times the build's duration
# before the next: at most a quarter of its time goes to refreshes.
REFRESH_REST = 3.0


def _first_version() -> int:
    return time.time_ns() // 1000


def catalog_version() -> int | None:
    """The current version; None when the cache is away, or when this thread's transaction
    changed the catalogue and has not committed yet (nothing may be reused then)."""
    if _bump_on_commit.waiting():
        return None
    version = shared_counters.read(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _first_version(), timeout=None)
        version = cache.get(VERSION_KEY)
        shared_counters.forget()
    return int(version) if version is not None else None


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet (or the cache is down): start one
        cache.add(VERSION_KEY, _first_version(), timeout=None)
    shared_counters.forget()


_bump_on_commit = CommitHook(_bump)


def catalog_changed() -> None:
    """Every cached catalogue fragment is stale. Inside a transaction of the program's the
    version is bumped once, when it commits (streamsite.db.transactions.CommitHook: no cache
    call inside the transaction); until then this thread's own reads skip the shared
    fragments (`catalog_version()` is None for them), and a reader elsewhere, who cannot see
    the uncommitted rows, caches the old ones under the old version, which the bump retires.
    Outside a transaction, bumped at once."""
    if not _bump_on_commit.announce():
        _bump()


def viewer_parts(viewer: Viewer) -> tuple[str, int, str]:
    """Country, maturity ceiling and language: what a shared fragment varies by. The language
    is the request's active one (accounts.selectors.viewer_language), which pages render in."""
    return (viewer.country, viewer.max_maturity, translation.get_language() or "")


def fragment_key(name: str, viewer: Viewer, *parts: Any) -> str:
    country, maturity, language = viewer_parts(viewer)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f"catalog:frag:{name}:{country}:{maturity}:{language}:{digest}"


def _window_ttl() -> int | None:
    """Seconds until the next licensing window opens or closes (None: none is due)."""
    from catalog.models import Availability

    now = timezone.now()
    soonest = Availability.objects.filter(Q(starts_at__gt=now) | Q(ends_at__gt=now)).aggregate(
        start=Min("starts_at", filter=Q(starts_at__gt=now)),
        end=Min("ends_at", filter=Q(ends_at__gt=now)),
    )
    edges = [e for e in (soonest["start"], soonest["end"]) if e is not None]
    return max(1, int((min(edges) - now).total_seconds()) + 1) if edges else None


def fragment_ttl() -> int:
    """CATALOG_CACHE_SECONDS, or less when a licensing window opens or closes sooner."""
    return fragment_lives()[0]


def fragment_lives() -> tuple[int, int]:
    """(fresh, usable) seconds for a fragment built now: fresh for CATALOG_CACHE_SECONDS,
    then stale but still served while it is refreshed for CATALOG_STALE_SECONDS more; both
    end no later than the next licensing window's edge."""
    fresh = int(settings.CATALOG_CACHE_SECONDS)
    usable = fresh + int(settings.CATALOG_STALE_SECONDS)
    window = _window_ttl()
    if window is not None:
        fresh, usable = min(fresh, window), min(usable, window)
    return fresh, usable


class Uncacheable(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a builder whose result must not be cached; carries the result."""

    def __init__(self, value: Any) -> None:
        super().__init__("not cached")
        self.value = value


class _Copies:
    """This process's copies of shared values: key -> (version, fresh until, usable until,
    value)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[int, float, float, Any]] = {}

    def get(self, key: str, version: int) -> tuple[bool, Any]:
        """(True, value) for a fresh copy under `version`, else (False, None)."""
        fresh, _, value = self.look(key, version)
        return (True, value) if fresh else (False, None)

    def look(self, key: str, version: int) -> tuple[bool, bool, Any]:
        """(fresh, stale, value) of the copy under `version`; (False, False, None) if none."""
        entry = self.entries.get(key)
        if entry is None or entry[0] != version:
            return False, False, None
        now = time.time()
        if now < entry[1]:
            return True, False, entry[3]
        if now < entry[2]:
            return False, True, entry[3]
        return False, False, None

    def put(self, key: str, version: int, deadline: float, value: Any, usable: float = 0) -> None:
        with self.lock:
            if len(self.entries) >= COPIES_MAX:
                self.entries.clear()
            self.entries[key] = (version, deadline, max(deadline, usable), value)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_copies = _Copies()


class _RefreshPace:
    """When this process may next refresh a stale fragment (a monotonic time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_at = 0.0

    def take_turn(self) -> bool:
        """True (and no other turn until `rest` is called) when a refresh may start now. The
        turn is a lease as long as a claim's: a request that took it and died before `rest`
        (an exception from the cache, the thread killed) holds up refreshes for that long, not
        for the life of the process."""
        with self.lock:
            now = time.monotonic()
            if now < self.next_at:
                return False
            self.next_at = now + REFRESH_CLAIM_SECONDS  # one refresh at a time in this process
            return True

    def rest(self, took: float) -> None:
        with self.lock:
            self.next_at = time.monotonic() + REFRESH_REST * took

    def reset(self) -> None:
        with self.lock:
            self.next_at = 0.0


_pace = _RefreshPace()


def forget_copies() -> None:
    """Drop this process's copies (tests; the shared version is what invalidates them)."""
    _copies.clear()
    _pace.reset()


def _shared_entry(key: str, version: int) -> tuple[float, float, Any] | None:
    """(fresh until, usable until, value) of the cache's entry under `version`, if usable."""
    hit = cache.get(key)
    if not (isinstance(hit, tuple) and len(hit) == 4 and hit[0] == version):
        return None
    if hit[2] <= time.time():
        return None
    return hit[1], hit[2], hit[3]


def cached_fragment(name: str, viewer: Viewer, parts: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The fragment for this viewer and these parts: this process's copy, else the cache's,
    else built and stored in both. A stale one (past CATALOG_CACHE_SECONDS, within
    CATALOG_STALE_SECONDS) is the answer unless this request wins its refresh.

    The version comes from the request's snapshot of the shared counters; a fragment stored
    under another version is a miss (and is overwritten). The value returned may be shared
    with other threads of this process: callers only read it."""
    if not settings.CATALOG_CACHE_SECONDS:
        try:
            return build()
        except Uncacheable as skip:
            return skip.value  # type: ignore[no-any-return]
    key = fragment_key(name, viewer, *parts)
    version = catalog_version()
    if version is None:  # the cache is away: nothing is reused or stored
        return _build_and_store(key, None, build)
    fresh, stale, value = _copies.look(key, version)
    if fresh or (stale and not _pace.take_turn()):
        return value  # type: ignore[no-any-return]
    # No usable copy, or a stale one and this process's turn to refresh: the shared entry.
    shared = _shared_entry(key, version)
    if shared is not None:
        fresh_until, usable_until, value = shared
        _copies.put(key, version, fresh_until, value, usable=usable_until)
        if fresh_until > time.time():  # another process refreshed it
            if stale:
                _pace.rest(0)
            return value  # type: ignore[no-any-return]
        if not stale and not _pace.take_turn():
            return value  # type: ignore[no-any-return]
        stale = True
    if not stale:
        return _build_and_store(key, version, build)
    claim = f"{key}:refresh"
    if not cache.add(claim, 1, timeout=REFRESH_CLAIM_SECONDS):  # another process refreshes it
        _pace.rest(0)
        return value  # type: ignore[no-any-return]
    started = time.monotonic()
    try:
        return _build_and_store(key, version, build)
    except DatabaseError:
        # The database failed the refresh: the stale fragment is still a right answer for a
        # while (RFC 5861's stale-if-error). Not inside a transaction, which the error has
        # spoilt for whatever comes next: the caller has to see it.
        if in_program_transaction():
            raise
        logger.warning("catalogue fragment %s: refresh failed, served stale", key, exc_info=True)
        return value  # type: ignore[no-any-return]
    finally:
        _pace.rest(time.monotonic() - started)
        cache.delete(claim)


def _build_and_store(key: str, version: int | None, build: Callable[[], T]) -> T:
    try:
        value = build()
    except Uncacheable as skip:
        return skip.value  # type: ignore[no-any-return]
    if version is not None:
        fresh_ttl, usable_ttl = fragment_lives()
        now = time.time()
        deadline, usable = now + fresh_ttl, now + usable_ttl
        cache.set(key, (version, deadline, usable, value), timeout=usable_ttl)
        _copies.put(key, version, deadline, value, usable=usable)
    return value


def shared_memo_many(
    name: str, ids: Iterable[K], build: Callable[[list[K]], dict[K, T]]
) -> dict[K, T]:
    """`shared_memo` for many ids at once: those this process lacks are built in one call
    (`build(missing_ids)` -> {id: value}; an id it leaves out is not found)."""
    version = catalog_version() if settings.CATALOG_CACHE_SECONDS else None
    wanted = list(dict.fromkeys(ids))
    if version is None:
        return build(wanted)
    found: dict[K, T] = {}
    missing = []
    for i in wanted:
        ok, value = _copies.get(f"memo:{name}:{i!r}", version)
        if ok:
            found[i] = value
        else:
            missing.append(i)
    if missing:
        deadline = time.time() + int(settings.CATALOG_CACHE_SECONDS)
        for i, value in build(missing).items():
            _copies.put(f"memo:{name}:{i!r}", version, deadline, value)
            found[i] = value
    return found


def shared_memo(name: str, parts: tuple[Any, ...], build: Callable[[], T]) -> T:
    """A value derived only from catalogue data (no viewer, no query of its own, e.g. a
    title's rendered card), kept in this process under the catalogue version; built again
    after any catalogue change. Not stored in the shared cache."""
    version = catalog_version() if settings.CATALOG_CACHE_SECONDS else None
    if version is None:
        return build()
    key = f"memo:{name}:{parts!r}"
    found, value = _copies.get(key, version)
    if found:
        return value  # type: ignore[no-any-return]
    value = build()
    _copies.put(key, version, time.time() + int(settings.CATALOG_CACHE_SECONDS), value)
    return value
