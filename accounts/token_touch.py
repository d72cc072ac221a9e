"""When each API token was last used (`ApiToken.last_used_at`), written off the request path.

A request whose token has not been noted for TOKEN_TOUCH_INTERVAL notes the time in one Redis
hash (one command, no database write and no commit on the request; on a token's first request
in a process the command rides with the request's first cache round trip, `note_rides`);
`flush`, run by beat every minute, writes what was noted in one statement per FLUSH_BATCH
tokens, and only ever moves a token's time forward. With a cache that is not Redis, or with
Redis away, the request writes the row itself, as it did before. A flush takes the hash by
renaming it: one that dies before its write leaves the taken entries under their own key, and
the next flush writes them first. Times noted but never flushed (Redis lost) cost only how
fresh "last used" is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.db import transaction

from accounts.models import ApiToken
from streamsite import shared_counters
from streamsite.cache import FailSoftRedisCache, default_redis

FLUSH_BATCH = 500


def _keys(cache: FailSoftRedisCache) -> tuple[str, str]:
    return cache.make_key("accounts:token-touch"), cache.make_key("accounts:token-touch:flushing")


def note(token_id: int, at: datetime) -> bool:
    """Note that the token was used at `at`; False when it must be written directly."""
    cache = default_redis()
    if cache is None:
        return False
    noted = _keys(cache)[0]
    command = _hset(noted, token_id, at)
    return cache.run(lambda client: client.execute_command(*command)) is not None


def _hset(noted: str, token_id: int, at: datetime) -> tuple[str, str, str, str]:
    """The one command that notes a use (sent alone by `note`, riding by `note_rides`)."""
    return ("HSET", noted, str(token_id), repr(at.timestamp()))


def note_rides(token_id: int, at: datetime) -> Callable[[], bool] | None:
    """`note`, sent with the request's first read of the shared counters: what tells whether it
    went, or None when it cannot ride (then `note` it, or write it)."""
    cache = default_redis()
    if cache is None:
        return None
    noted = _keys(cache)[0]
    return shared_counters.also_write(_hset(noted, token_id, at))


def flush() -> int:
    """Write the noted times to the tokens; the number of tokens moved forward."""
    cache = default_redis()
    if cache is None:
        return 0
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
