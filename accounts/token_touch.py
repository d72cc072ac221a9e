"""When each API token was last used (`ApiToken.last_used_at`), written off the request path.

A request whose token has not been noted for TOKEN_TOUCH_INTERVAL notes the time in this
process (`note_later`: no round trip, no database write, no commit on the request). A timer
thread sends what the process noted, at most SEND_SECONDS after the first note of a batch, in
one Redis command (HSET of every token noted); `flush`, run by beat every minute, writes what
was sent in one statement per FLUSH_BATCH tokens, and only ever moves a token's time forward.
With a cache that is not Redis the request writes the row itself, as it did before; a batch
Redis does not take (it is away) is written to the rows by the thread instead. A flush takes
the hash by renaming it: one that dies before its write leaves the taken entries under their
own key, and the next flush writes them first. Times never written (a process killed within
SEND_SECONDS of a note, Redis lost) cost only how fresh "last used" is.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime

from django.db import connections, transaction

from accounts.models import ApiToken
from streamsite.cache import FailSoftRedisCache, default_redis

FLUSH_BATCH = 500
SEND_SECONDS = 0.5  # a batch's longest wait in the process
MAX_BATCH = 10_000  # tokens noted in one batch; a fuller batch is sent at once

logger = logging.getLogger(__name__)


def _keys(cache: FailSoftRedisCache) -> tuple[str, str]:
    return cache.make_key("accounts:token-touch"), cache.make_key("accounts:token-touch:flushing")


class _Batch:
    """Uses noted in this process and not yet sent: token id -> latest time (a timestamp)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stamps: dict[int, float] = {}
        self.timer: threading.Timer | None = None
        self.cache: FailSoftRedisCache | None = None

    def add(self, token_id: int, at: float, cache: FailSoftRedisCache) -> None:
        with self.lock:
            if at > self.stamps.get(token_id, 0.0):
                self.stamps[token_id] = at
            # The noting thread's cache (its connection pool is thread-safe): a cache looked
            # up in the timer's thread would be a new instance with a new pool each time.
            self.cache = cache
            full = len(self.stamps) >= MAX_BATCH
            if self.timer is None and not full:
                self.timer = threading.Timer(SEND_SECONDS, self._send_in_timer)
                self.timer.daemon = True
                self.timer.start()
        if full:
            self.send()

    def take(self) -> tuple[dict[int, float], FailSoftRedisCache | None]:
        with self.lock:
            stamps, self.stamps = self.stamps, {}
            if self.timer is not None:
                self.timer.cancel()  # a no-op in the timer's own thread
                self.timer = None
            return stamps, self.cache

    def send(self) -> int:
        """Send the batch in one command (written to the rows if Redis does not take it); the
        number of tokens it held."""
        stamps, cache = self.take()
        if not stamps:
            return 0
        fields = [value for pair in stamps.items() for value in (str(pair[0]), repr(pair[1]))]
        sent = cache is not None and (
            cache.run(lambda client: client.hset(_keys(cache)[0], items=fields)) is not None
        )
        if not sent:
            _write({str(k).encode(): repr(v).encode() for k, v in stamps.items()})
        return len(stamps)

    def _send_in_timer(self) -> None:
        try:
            self.send()
        except Exception:  # the database away too: these uses are lost, the next batch tries
            logger.warning("API token uses not recorded", exc_info=True)
        finally:
            connections.close_all()  # this thread's own, opened only to write without Redis

    def start_over(self) -> None:
        """In a forked child: none of the parent's notes (the parent sends them), no timer,
        and a lock of its own."""
        self.lock = threading.Lock()
        self.stamps, self.timer, self.cache = {}, None, None


_batch = _Batch()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_batch.start_over)


def note_later(token_id: int, at: datetime) -> bool:
    """Note the use in this process, sent with its batch (`send`); False when the cache is
    not Redis (then write it directly)."""
    cache = default_redis()
    if cache is None:
        return False
    _batch.add(token_id, at.timestamp(), cache)
    return True


def send() -> int:
    """Send this process's batch now (`flush` does it first): how many tokens it held."""
    return _batch.send()


def discard() -> None:
    """Drop this process's batch unsent (tests: a batch noted against one test's cache)."""
    _batch.take()


def flush() -> int:
    """Write the noted times to the tokens; the number of tokens moved forward."""
    cache = default_redis()
    if cache is None:
        return 0
    send()  # what this process noted, in the hash before it is taken
    noted, flushing = _keys(cache)
    written = 0
    for _ in range(2):  # what a dead flush left, then what was noted since
        taken = cache.run(lambda client: client.exists(flushing), fallback=0) or cache.run(
            lambda client: client.renamenx(noted, flushing) if client.exists(noted) else 0,
            fallback=0,
        )
        if not taken:
            break
        entries = cache.run(lambda client: client.hgetall(flushing), fallback=None)
        if entries is None:
            break
        written += _write(entries)
        cache.run(lambda client: client.delete(flushing))
    return written


def _write(entries: dict[bytes, bytes]) -> int:
    stamps: dict[int, datetime] = {}
    for field, value in entries.items():
        try:
            stamps[int(field)] = datetime.fromtimestamp(float(value), tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue  # not ours: nothing else writes this hash
    written = 0
    ids = sorted(stamps)
    for start in range(0, len(ids), FLUSH_BATCH):
        chunk = ids[start : start + FLUSH_BATCH]
        with transaction.atomic():
            rows = ApiToken.objects.select_for_update().filter(pk__in=chunk)
            later = [
                ApiToken(pk=pk, last_used_at=stamps[pk])
                for pk, last in rows.values_list("pk", "last_used_at")
                if last is None or last < stamps[pk]
            ]
            ApiToken.objects.bulk_update(later, ["last_used_at"])
        written += len(later)
    return written
