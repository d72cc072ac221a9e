"""The Redis cache that a Redis outage turns into misses instead of errors.

Nothing the site keeps only in the cache is the record of anything, so while Redis is down
reads miss, writes are dropped and pages are built from the database. After a failure the
process skips Redis for RETRY_SECONDS instead of waiting on a connect timeout per call.
Rate limits kept in the cache are not enforced meanwhile (they fail open): availability over
throttling, logged once per outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class FailSoftRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._down_until = 0.0

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

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call(super().get, default, key, default, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._call(super().get_many, {}, keys, version)

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._call(super().has_key, False, key, version)

    def add(self, key: Any, value: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call(super().add, False, key, value, version=version, **kwargs)

    def set(self, key: Any, value: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call(super().set, None, key, value, version=version, **kwargs)

    def set_many(self, data: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call(super().set_many, list(data), data, version=version, **kwargs)

    def touch(self, key: Any, timeout: Any = ..., version: Any = None) -> Any:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call(super().touch, False, key, version=version, **kwargs)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._call(super().delete, False, key, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        return self._call(super().delete_many, None, keys, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        missing = object()
        value = self._call(super().incr, missing, key, delta, version)
        if value is missing:  # as for a key that is not there: callers then set() it
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        return value

    def clear(self) -> Any:
        return self._call(super().clear, None)
