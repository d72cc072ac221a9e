"""The position buffer: heartbeats' positions held in Redis (or, without Redis, on the session
row) and flushed in bounded batches through the record_progress port."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from playback import ports
from playback.models import PlaybackSession
from streamsite.cache import default_redis

FLUSH_BATCH = 500
FLUSH_MAX_BATCHES = 20
BUFFER_KEY_TTL = 24 * 60 * 60

_PUSH = """
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""
_ACK = """
local cur = redis.call('HGET', KEYS[1], 'seq')
if (not cur) or cur == ARGV[1] then redis.call('SREM', KEYS[2], ARGV[2]) return 1 end
return 0
"""


def uses_redis_buffer() -> bool:
    """Positions are buffered in Redis when the cache is Redis; in the database otherwise."""
    return default_redis() is not None


def _redis() -> Any:
    return cache._cache.get_client(None, write=True)  # type: ignore[attr-defined]


def _pos_key(session_id: UUID | str) -> str:
    return cache.make_key(f"playback:pos:{session_id}")


def _dirty_key() -> str:
    return cache.make_key("playback:dirty")


def buffer_position(
    session: PlaybackSession, *, seq: int, position: float, duration: float | None, at: datetime
) -> bool:
    """Buffer a position unless a newer (or the same) sequence number is already there."""
    if uses_redis_buffer():
        payload = json.dumps(
            {
                "profile_id": session.profile_id,
                "title_id": session.title_id,
                "episode_id": session.episode_id,
                "position": position,
                # As the database fallback keeps it: the player's, else the session's (its asset's).
                "duration": duration if duration is not None else session.duration_seconds,
                "at": at.isoformat(),
            }
        )
        applied = _redis().eval(
            _PUSH,
            2,
            _pos_key(session.pk),
            _dirty_key(),
            seq,
            payload,
            str(session.pk),
            BUFFER_KEY_TTL,
        )
        return bool(applied)
    updates: dict[str, Any] = {
        "last_seq": seq,
        "position_seconds": position,
        "progress_dirty": True,
        "last_heartbeat_at": at,
    }
    if duration is not None:
        updates["duration_seconds"] = duration
    return PlaybackSession.objects.filter(pk=session.pk, last_seq__lt=seq).update(**updates) == 1


def _flush_redis(limit: int, only: str | None = None) -> int:
    client = _redis()
    members = [only] if only else client.srandmember(_dirty_key(), limit)
    flushed = 0
    for raw in members:
        member = raw.decode() if isinstance(raw, bytes) else raw
        seq, data = client.hmget(_pos_key(member), ["seq", "data"])
        if data is None:
            client.srem(_dirty_key(), member)
            continue
        item = json.loads(data)
        ports.record_progress(
            profile_id=item["profile_id"],
            title_id=item["title_id"],
            episode_id=item["episode_id"],
            position_seconds=item["position"],
            duration_seconds=item["duration"],
            at=parse_datetime(item["at"]) or timezone.now(),
        )
        client.eval(_ACK, 2, _pos_key(member), _dirty_key(), seq, member)
        flushed += 1
    return flushed


def _flush_db(limit: int, only: UUID | None = None) -> int:
    rows = PlaybackSession.objects.filter(progress_dirty=True)
    if only is not None:
        rows = rows.filter(pk=only)
    batch = list(
        rows.order_by("pk").values(
            "pk",
            "profile_id",
            "title_id",
            "episode_id",
            "position_seconds",
            "duration_seconds",
            "last_seq",
            "last_heartbeat_at",
        )[:limit]
    )
    for row in batch:
        ports.record_progress(
            profile_id=row["profile_id"],
            title_id=row["title_id"],
            episode_id=row["episode_id"],
            position_seconds=row["position_seconds"],
            duration_seconds=row["duration_seconds"],
            at=row["last_heartbeat_at"] or timezone.now(),
        )
        # Claim the flush only if no newer heartbeat arrived meanwhile.
        PlaybackSession.objects.filter(pk=row["pk"], last_seq=row["last_seq"]).update(
            progress_dirty=False
        )
    return len(batch)


def flush_positions(*, batch: int = FLUSH_BATCH, max_batches: int = FLUSH_MAX_BATCHES) -> int:
    """Write buffered positions through record_progress; bounded, safe to run twice."""
    total = 0
    for _ in range(max_batches):
        done = _flush_redis(batch) if uses_redis_buffer() else _flush_db(batch)
        total += done
        if done < batch:
            break
    return total


def flush_one(session: PlaybackSession) -> None:
    if uses_redis_buffer():
        _flush_redis(1, only=str(session.pk))
    else:
        _flush_db(1, only=session.pk)
