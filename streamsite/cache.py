"""The Redis cache that a Redis outage turns into misses instead of errors.

Nothing the site keeps only in the cache is the record of anything, so while Redis is down
reads miss, writes are dropped and pages are built from the database. After a failure the
process skips Redis for RETRY_SECONDS instead of waiting on a connect timeout per call.
Rate limits kept in the cache are not enforced meanwhile (they fail open): availability over
throttling, logged once per outage.

Django's Redis client builds a new `redis.Redis` object for every cache call (with its table
of ~170 response callbacks); `_ReusedClients` keeps one per connection pool instead
(`redis.Redis` over a pool is safe to share between threads), which was a sizeable part of
the CPU time of a cached API request (docs/benchmarks.md); and `incr` is one round trip
(a script) instead of two. `get_many_and_count` reads keys and counts counters in one round
trip (streamsite.shared_counters: a request's shared counters and its throttle windows);
the keys streamsite.near_cache keeps are answered from this process's copies there, and a
call with nothing else to read, count or write makes no round trip. `add_counts` adds a
process's batch of throttle counts (streamsite.window_counts)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streamsite import near_cache
from streamsite.near_cache import Decoded, NearCache

hiredis: Any
try:
    import hiredis
except ImportError:  # pragma: no cover - redis-py packs the commands itself
    hiredis = None

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
# One set of near copies per Redis location per process (Django makes a backend per thread).
_NEAR: dict[str, NearCache | None] = {}
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


# INCRBY only when the key exists, in one round trip (Django's client sends EXISTS, then INCRBY).
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
"""


def _pack(conn: Any, commands: list[tuple[Any, ...]]) -> Any:
    """The commands in Redis's protocol, by hiredis when it is there (redis-py's own packing
    wraps it in per-argument checks the round trip's str, bytes and int arguments never need)."""
    if hiredis is None:
        return conn.pack_commands(commands)
    return [b"".join([hiredis.pack_command(command) for command in commands])]


class _ReusedClients(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._incr_scripts: dict[int, Any] = {}

    def incr(self, key: Any, delta: int) -> Any:
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:
            script = self._incr_scripts.setdefault(
                id(client), client.register_script(_INCR_EXISTING)
            )
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_many_and_count(
        self,
        keys: list[Any],
        counters: dict[Any, int],
        near: NearCache | None = None,
    ) -> tuple[dict[Any, Any], dict[Any, int]]:
        """MGET `keys` and count each counter (+1, created with its timeout in seconds), in one
        round trip. Keys are already made (prefixed and versioned). Keys `near` holds copies of
        are answered from them; with nothing else to read or count there is no round trip at
        all."""
        found: dict[Any, bytes | Decoded | None] = {}
        generation = None
        if near is not None and keys:
            found, keys, generation = near.lookup(keys)
        if keys or counters:
            raw, counts = self._trip(keys, {k: (1, t) for k, t in counters.items()})
            fetched = dict(zip(keys, raw, strict=True))
            if near is not None:
                near.store(fetched, generation)
            found.update(fetched)
        else:
            counts = {}
        loads = self._serializer.loads  # type: ignore[attr-defined] # untyped in stubs
        if near is not None:  # a copy under a shared prefix is decoded once, not per read
            return {k: near.decode(k, v, loads) for k, v in found.items() if v is not None}, counts
        return {k: loads(v) for k, v in found.items() if v is not None}, counts

    def add_counts(self, counters: dict[Any, tuple[int, int]]) -> dict[Any, int]:
        """Add `by` to each counter (created with `timeout` seconds when missing), given as
        key -> (by, timeout), in one round trip: the counters' new values."""
        return self._trip([], counters)[1]

    def _trip(
        self,
        keys: list[Any],
        counters: dict[Any, tuple[int, int]],
    ) -> tuple[list[bytes | None], dict[Any, int]]:
        commands: list[tuple[Any, ...]] = []
        if keys:
            commands.append(("MGET", *keys))
        for key, (by, timeout) in counters.items():
            commands.append(("SET", key, 0, "EX", max(1, int(timeout)), "NX"))  # a new window
            commands.append(("INCRBY", key, by))
        replies = self._round_trip(commands)
        raw = replies.pop(0) if keys else []
        counts = {key: int(replies[2 * i + 1]) for i, key in enumerate(counters)}
        return raw, counts

    def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Every command in one write, every reply read back, on a pooled connection: what
        redis-py's Pipeline does, without its per-command bookkeeping (a third of the call's
        CPU time; every cached request makes this call, docs/benchmarks.md). A connection that
        fails is dropped, never returned half-read to the pool, and the round trip is tried
        once more on a new one (a restarted server: the pool's old sockets are dead)."""
        pool = self._get_connection_pool(True)  # type: ignore[attr-defined] # untyped in stubs
        for attempt in (1, 2):
            conn = pool.get_connection()
            try:
                conn.send_packed_command(_pack(conn, commands))
                replies = []
                for _ in commands:
                    try:
                        replies.append(conn.read_response())
                    except ResponseError as exc:  # read on: the socket stays in step
                        replies.append(exc)
            except BaseException as exc:
                conn.disconnect()
                pool.release(conn)
                if attempt == 2 or not isinstance(exc, DOWN):
                    raise
                continue
            pool.release(conn)
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
            return replies
        raise AssertionError("unreachable")

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined] # untyped in stubs
        client = self._clients.get(id(pool))  # pools live as long as this object
        if client is None:
            make = self._client  # type: ignore[attr-defined]
            client = self._clients.setdefault(id(pool), make(connection_pool=pool))
        return client


class FailSoftRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClients
        self._down_until = 0.0
        self._location = server

    def near(self) -> NearCache | None:
        """This process's near copies for this Redis (streamsite.near_cache), or None when
        CACHE_NEAR_SECONDS is 0 or the server is not reached over TCP."""
        max_age = settings.CACHE_NEAR_SECONDS
        if not max_age:
            return None
        try:
            near = _NEAR[self._location]
        except KeyError:
            near = _NEAR.setdefault(self._location, self._make_near())
        if near is not None:
            near.max_age = max_age
            if near_cache.kept_count() != near.kept_count:  # registered since: track those too
                kept = near_cache.kept_prefixes()
                near.track(self._made(kept), self._made(near_cache.shared_prefixes()))
                near.kept_count = near_cache.kept_count()
        return near

    def _make_near(self) -> NearCache | None:
        pool = self._cache._get_connection_pool(False)  # type: ignore[attr-defined]
        if pool.connection_class is not Connection:  # TLS or a Unix socket: not tracked
            return None
        options = pool.connection_kwargs
        kept = near_cache.kept_prefixes()
        near = NearCache(
            (options.get("host", "localhost"), int(options.get("port", 6379))),
            self._made(kept),
            max_age=settings.CACHE_NEAR_SECONDS,
            shared=self._made(near_cache.shared_prefixes()),
            username=options.get("username"),
            password=options.get("password"),
            connect_timeout=options.get("socket_connect_timeout") or 2.0,
        )
        near.kept_count = near_cache.kept_count()
        return near

    def _made(self, prefixes: list[str]) -> list[str]:
        return [self.make_key(prefix) for prefix in prefixes]

    def _dropped(self, keys: Any = None, version: Any = None) -> None:
        """This process writes `keys` (None: all of them): its near copies of them go now."""
        near = _NEAR.get(self._location)
        if near is not None:
            near.dropped(None if keys is None else [self.make_key(k, version) for k in keys])

    def _call(self, method: Callable[..., Any], fallback: Any, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return method(*args, **kwargs)
        except DOWN as exc:
            if self._down_until == 0.0:
                logger.warning("cache unavailable, serving without it: %s", exc)
            self._down_until = time.monotonic() + RETRY_SECONDS
            return fallback

    def run(self, command: Callable[[Any], Any], fallback: Any = None) -> Any:
        """`command(client)` on a redis-py client for the write connection; `fallback` while
        Redis is away, as for every call here."""
        clients = self._cache  # type: ignore[attr-defined]  # a cached_property the stubs lack
        return self._call(lambda: command(clients.get_client(None, write=True)), fallback)

    def validate_key(self, key: Any) -> None:
        """Nothing to check: Redis keys are binary-safe and up to 512 MB. Django's check warns
        about keys memcached would refuse, a loop over every character of every key."""

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call(super().get, default, key, default, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._call(super().get_many, {}, keys, version)

    def get_many_and_count(
        self,
        keys: list[str],
        counters: dict[str, int],
    ) -> tuple[dict[str, Any], dict[str, int]] | None:
        """The values of `keys` found, and each counter counted once (created with its
        timeout, in seconds, when missing), in one round trip; None while Redis is down."""
        made = {self.make_and_validate_key(k): k for k in keys}
        made_counters = {self.make_and_validate_key(k): k for k in counters}
        got = self._call(
            self._cache.get_many_and_count,  # type: ignore[attr-defined] # untyped in stubs
            None,
            list(made),
            {m: counters[k] for m, k in made_counters.items()},
            self.near(),
        )
        if got is None:
            return None
        values, counts = got
        return (
            {made[m]: v for m, v in values.items()},
            {made_counters[m]: n for m, n in counts.items()},
        )

    def add_counts(self, counters: dict[str, tuple[int, int]]) -> dict[str, int] | None:
        """Add `by` to each counter (key -> (by, timeout in seconds), created when missing) in
        one round trip: their new values, or None while Redis is down."""
        made = {self.make_and_validate_key(k): k for k in counters}
        got = self._call(
            self._cache.add_counts,  # type: ignore[attr-defined] # untyped in stubs
            None,
            {m: counters[k] for m, k in made.items()},
        )
        return None if got is None else {made[m]: n for m, n in got.items()}

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._call(super().has_key, False, key, version)

    def add(self, key: Any, value: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        self._dropped([key], version)
        return self._call(super().add, False, key, value, version=version, **kwargs)

    def set(self, key: Any, value: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        self._dropped([key], version)
        return self._call(super().set, None, key, value, version=version, **kwargs)

    def set_many(self, data: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        self._dropped(list(data), version)
        return self._call(super().set_many, list(data), data, version=version, **kwargs)

    def touch(self, key: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        self._dropped([key], version)
        return self._call(super().touch, False, key, version=version, **kwargs)

    def delete(self, key: Any, version: Any = None) -> Any:
        self._dropped([key], version)
        return self._call(super().delete, False, key, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        keys = list(keys)
        self._dropped(keys, version)
        return self._call(super().delete_many, None, keys, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        missing = object()
        self._dropped([key], version)
        value = self._call(super().incr, missing, key, delta, version)
        if value is missing:  # as for a key that is not there: callers then set() it
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        return value

    def clear(self) -> Any:
        self._dropped()
        return self._call(super().clear, None)


def default_redis() -> FailSoftRedisCache | None:
    """The default cache when it is this Redis backend, else None (tests' and the demo's local
    memory). Ask `caches`, not Django's `cache` proxy: the proxy is never an instance of its
    backend's class."""
    from django.core.cache import caches

    default = caches["default"]
    return default if isinstance(default, FailSoftRedisCache) else None
