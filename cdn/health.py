"""Edge health: probing with hysteresis, and the versioned live state shared through Redis."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from cdn.snapshot import EdgeHealth

log = logging.getLogger(__name__)


class Store(Protocol):
    def versions(self) -> tuple[int, int]: ...
    def read_health(self) -> tuple[int, dict[int, EdgeHealth]]: ...
    def publish_health(self, health: dict[int, EdgeHealth]) -> int: ...
    def bump_config(self) -> int: ...


def _encode(health: dict[int, EdgeHealth]) -> str:
    return json.dumps({str(k): [v.up, round(v.load, 4)] for k, v in health.items()})


def _decode(raw: str | bytes | None) -> dict[int, EdgeHealth]:
    if not raw:
        return {}
    data = json.loads(raw)
    return {int(k): EdgeHealth(up=bool(v[0]), load=float(v[1])) for k, v in data.items()}


class RedisStore:
    """Keys: <prefix>:config (version), <prefix>:health:v (version), <prefix>:health (JSON)."""

    def __init__(self, url: str, prefix: str = "cdn") -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)

    def versions(self) -> tuple[int, int]:
        config, health = self.client.mget(f"{self.prefix}:config", f"{self.prefix}:health:v")
        return int(config or 0), int(health or 0)

    def read_health(self) -> tuple[int, dict[int, EdgeHealth]]:
        version, raw = self.client.mget(f"{self.prefix}:health:v", f"{self.prefix}:health")
        return int(version or 0), _decode(raw)

    def publish_health(self, health: dict[int, EdgeHealth]) -> int:
        pipe = self.client.pipeline(transaction=True)
        pipe.set(f"{self.prefix}:health", _encode(health))
        pipe.incr(f"{self.prefix}:health:v")
        return int(pipe.execute()[1])

    def bump_config(self) -> int:
        return int(self.client.incr(f"{self.prefix}:config"))

    def clear(self) -> None:
        self.client.delete(
            f"{self.prefix}:config", f"{self.prefix}:health:v", f"{self.prefix}:health"
        )


class LocalStore:
    """Process-local stand-in when no Redis is configured (the single-process demo)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = 0
        self.health_version = 0
        self.health: dict[int, EdgeHealth] = {}

    def versions(self) -> tuple[int, int]:
        return self.config, self.health_version

    def read_health(self) -> tuple[int, dict[int, EdgeHealth]]:
        return self.health_version, dict(self.health)

    def publish_health(self, health: dict[int, EdgeHealth]) -> int:
        with self._lock:
            self.health = dict(health)
            self.health_version += 1
            return self.health_version

    def bump_config(self) -> int:
        with self._lock:
            self.config += 1
            return self.config


_store: Store | None = None
_store_key: tuple[str | None, str] | None = None


def get_store() -> Store:
    global _store, _store_key
    key = (settings.CDN_REDIS_URL, settings.CDN_REDIS_PREFIX)
    if _store is None or _store_key != key:
        _store = RedisStore(key[0], key[1]) if key[0] else LocalStore()
        _store_key = key
    return _store


# --- Probing ---------------------------------------------------------------------------------

ACTIVE_RE = re.compile(rb"Active connections:\s*(\d+)")


@dataclass
class EdgeTarget:
    id: int
    health_url: str
    status_url: str
    capacity: int


@dataclass
class Tracker:
    """Hysteresis for one edge: down after K failures in a row, up after M successes."""

    up: bool = True
    fails: int = 0
    oks: int = 0
    load: float = 0.0
    changed_at: float = field(default=0.0)

    def observe(self, ok: bool, *, down_after: int, up_after: int, now: float) -> bool:
        """Record one probe; returns True when the up/down state flipped."""
        if ok:
            self.oks += 1
            self.fails = 0
            if not self.up and self.oks >= up_after:
                self.up, self.changed_at = True, now
                return True
        else:
            self.fails += 1
            self.oks = 0
            if self.up and self.fails >= down_after:
                self.up, self.changed_at = False, now
                return True
        return False


def probe(target: EdgeTarget, *, timeout: float) -> tuple[bool, float]:
    """GET the health endpoint and the load stats; (healthy, active connections / capacity)."""
    try:
        with urllib.request.urlopen(target.health_url, timeout=timeout) as response:  # noqa: S310
            if response.status != 200:
                return False, 0.0
            response.read(64)
    except (OSError, urllib.error.URLError, ValueError):
        return False, 0.0
    load = 0.0
    try:
        with urllib.request.urlopen(target.status_url, timeout=timeout) as response:  # noqa: S310
            match = ACTIVE_RE.search(response.read(512))
            if match:
                # The probe's own connection is one of the active ones.
                load = max(0, int(match.group(1)) - 1) / max(1, target.capacity)
    except (OSError, urllib.error.URLError, ValueError):
        pass
    return True, load


class Poller:
    """Probes every edge each round and publishes a new health version when anything changes."""

    def __init__(
        self,
        *,
        store: Store,
        targets: Callable[[], list[EdgeTarget]],
        down_after: int,
        up_after: int,
        timeout: float,
        probe_fn: Callable[..., tuple[bool, float]] = probe,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[dict[int, EdgeHealth]], Any] | None = None,
    ) -> None:
        self.store = store
        self.targets = targets
        self.down_after, self.up_after, self.timeout = down_after, up_after, timeout
        self.probe_fn = probe_fn
        self.clock = clock
        self.on_change = on_change
        self.trackers: dict[int, Tracker] = {}
        self.published: dict[int, EdgeHealth] | None = None

    def round(self) -> dict[int, EdgeHealth]:
        from concurrent.futures import ThreadPoolExecutor

        targets = self.targets()
        with ThreadPoolExecutor(max_workers=min(32, max(1, len(targets)))) as pool:
            results = list(pool.map(lambda t: self.probe_fn(t, timeout=self.timeout), targets))
        now = self.clock()
        health: dict[int, EdgeHealth] = {}
        for target, (ok, load) in zip(targets, results, strict=True):
            tracker = self.trackers.setdefault(target.id, Tracker())
            if tracker.observe(ok, down_after=self.down_after, up_after=self.up_after, now=now):
                log.warning("edge %s is now %s", target.id, "up" if tracker.up else "down")
            if ok:
                tracker.load = load
            health[target.id] = EdgeHealth(up=tracker.up, load=round(tracker.load, 2))
        if health != self.published:
            try:
                self.store.publish_health(health)
                self.published = health
            except Exception:  # noqa: BLE001 - Redis away: keep probing, publish next round
                log.exception("could not publish edge health")
            if self.on_change is not None:
                self.on_change(health)
        return health
