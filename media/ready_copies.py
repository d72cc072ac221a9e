"""This process's copies of each movie's and episode's ready asset (what `ready_asset_media`
answers), checked against a shared version that every change to what they hold bumps.

Every playback start and watch page asks for the ready asset: without a copy that is one
PostgreSQL round trip per start (the asset row and its subtitles). A copy is kept for at most
CATALOG_CACHE_SECONDS (0 turns copies off, as the test settings do) and only while the shared
`media:ready-version` is the one read before its rows were: the version rides with the
request's other shared counters (streamsite.shared_counters), so checking it costs no round
trip of its own. With the shared cache away nothing is copied or reused. Nothing read inside a
transaction is copied: it may be the transaction's own writes, which a rollback would undo
without a bump.

What bumps the version (`ready_changed`: once the write's transaction commits, or at once
outside one; the writing process drops its own copies at the write):
- any save or delete of a MediaAsset that touches a field the copy holds (`READ_FIELDS`; a
  job's heartbeat and progress do not), and any delete, cascaded ones included (media.receivers);
- any save, delete or queryset update of a Subtitle (media.receivers, SubtitleQuerySet);
- a queryset `update()` of MediaAsset rows that sets one of those fields
  (MediaAssetQuerySet.update), since updates send no signals.
Renditions and audio renditions need none: a version's rows are written once, before the asset
is switched to it, and never changed (media.selectors' per-version copies).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from streamsite import shared_counters
from streamsite.db.transactions import CommitHook, in_program_transaction

log = logging.getLogger(__name__)
VERSION_KEY = shared_counters.register("media:ready-version")

# The asset fields a copy is made of (media.selectors reads exactly these, with the subtitles'
# language and label), and those that decide which asset is the ready one.
READ_FIELDS = (
    "ready_version",
    "content_key",
    "duration",
    "poster_key",
    "sprite_key",
    "thumbnails_vtt_key",
)
CHOICE_FIELDS = ("title", "title_id", "episode", "episode_id", "ready_at")
WATCHED_FIELDS = frozenset(READ_FIELDS + CHOICE_FIELDS)

COPIES_MAX = 5000
T = TypeVar("T")

_lock = threading.Lock()
# (kind, owner id) -> (what ready_asset_media answered, version it was read under, until)
_copies: dict[tuple[str, int], tuple[Any, int, float]] = {}


def _first_version() -> int:
    return time.time_ns() // 1000  # from the clock: a lost counter never comes back lower


def ready_version() -> int | None:
    """The shared version; None when copies are off or the cache is away."""
    if not settings.CATALOG_CACHE_SECONDS:
        return None
    try:
        version = shared_counters.read(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, _first_version(), timeout=None)
            shared_counters.forget()
            version = shared_counters.read(VERSION_KEY)
    except Exception:  # noqa: BLE001 - a cache that raises instead of failing soft
        return None
    return int(version) if version is not None else None


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: start one
        cache.add(VERSION_KEY, _first_version(), timeout=None)
    except Exception:  # noqa: BLE001 - the cache is away: no process reuses copies meanwhile
        log.warning("media: the shared cache is away; the ready-asset version was not bumped")
    with _lock:
        _copies.clear()
    shared_counters.forget()


_bump_on_commit = CommitHook(_bump)


def ready_changed() -> None:
    """Every copy is stale: this process drops its own now (its next read inside the
    transaction sees the transaction's writes, and is not copied), and the shared version is
    bumped once the transaction commits, once however many writes it made, so no Redis call
    is made inside it (streamsite.db.transactions.CommitHook; outside a transaction, at once).
    Other processes cannot see the writes before the commit; a read of theirs in between (old
    rows or new) was copied under the version before the bump, so the bump retires it either
    way. Rolled back: nothing to bump (the callback goes with the transaction)."""
    forget()
    if not _bump_on_commit.announce():
        _bump()


def touches_copies(fields: Any) -> bool:
    """Whether a write of `fields` (None: every field) can change a copy."""
    return fields is None or not WATCHED_FIELDS.isdisjoint(fields)


def copied(kind: str, owner_id: int, read: Callable[[], T]) -> T:
    """What `read()` answers for this owner: this process's copy while the version it was read
    under stands, else `read()` now (copied under the version read before it)."""
    version = ready_version()
    if version is None:
        if _copies:  # the cache is away: what changed meanwhile cannot be known afterwards
            forget()
        return read()
    key = (kind, int(owner_id))
    now = time.monotonic()
    hit = _copies.get(key)
    if hit is not None and hit[1] == version and hit[2] > now:
        return hit[0]  # type: ignore[no-any-return]
    found = read()
    if in_program_transaction():
        return found  # maybe this transaction's own writes, which a rollback undoes unbumped
    with _lock:
        if len(_copies) >= COPIES_MAX:
            _copies.clear()
        _copies[key] = (found, version, now + settings.CATALOG_CACHE_SECONDS)
    return found


def forget() -> None:
    """Drop this process's copies (tests)."""
    with _lock:
        _copies.clear()
