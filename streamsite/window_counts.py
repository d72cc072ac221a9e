"""The API throttles' window counters, counted in the process and added to Redis in batches.

A throttle's count was a Redis round trip per request (riding the request's other reads when
it could, streamsite.shared_counters); once a request's reads come from near copies
(streamsite.near_cache) that count would be its only round trip. So each process counts a
window here: the answer is what Redis said the window held at this process's last batch
(every process's counts until then) plus what this process counted since. At most every
API_THROTTLE_SYNC_MS the process sends what it counted since its last batch, every window in
one round trip (SET NX with the window's life, then INCRBY), and learns each window's total.

A window this process has not seen starts from what it counts itself and learns the others'
counts with the next batch. So a client can pass its limit by what the other processes serve
it within one batch interval (and a process alone counts exactly what it served); a window is
never counted lower than this process's own requests. While Redis is away the counts stay
here and are sent when it is back, as far as their windows last (the throttles fail open
meanwhile only for other processes' counts). A process that dies takes its unsent counts
with it: at most one interval of its own requests, which the other processes never learn.

Used when the default cache is Redis and API_THROTTLE_SYNC_MS is not 0; otherwise the
throttle counts in Redis on every request, as before."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from streamsite.cache import default_redis


@dataclass
class _Window:
    known: int  # Redis's count at the last batch that carried this window
    pending: int  # counted here since
    timeout: int  # the window's life in Redis, seconds
    until: float  # monotonic: forgotten after this


class WindowCounts:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._sent_at = clock()

    def count(self, key: str, timeout: int, interval: float) -> int:
        """Count `key` once: the window's count as this process knows it, this request in."""
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window.until:
                window = self._windows[key] = _Window(0, 0, timeout, now + timeout)
            window.pending += 1
            counted = window.known + window.pending
            due = now - self._sent_at >= interval
            if due:
                self._sent_at = now
        if due:
            self.send()
        return counted

    def send(self) -> int:
        """Add what this process counted to Redis, every window in one round trip: the number
        of windows sent (0 when Redis is away; the counts wait for the next batch)."""
        redis = default_redis()
        now = self.clock()
        with self._lock:
            for key in [k for k, w in self._windows.items() if now >= w.until]:
                del self._windows[key]
            batch = {k: (w.pending, w.timeout) for k, w in self._windows.items() if w.pending}
        if not batch or redis is None:
            return 0
        totals = redis.add_counts(batch)
        if totals is None:
            return 0
        with self._lock:
            for key, total in totals.items():
                window = self._windows.get(key)
                if window is not None:  # counted meanwhile: those stay pending
                    window.pending -= batch[key][0]
                    window.known = total
        return len(batch)

    def forget(self) -> None:
        with self._lock:
            self._windows.clear()
            self._sent_at = self.clock()


_counts = WindowCounts()


def interval() -> float | None:
    """Seconds between batches, or None when counts go to Redis one by one."""
    ms = settings.API_THROTTLE_SYNC_MS
    if not ms or default_redis() is None:
        return None
    return float(ms) / 1000.0


def count(key: str, timeout: int, seconds: float) -> int:
    """Count the window `key` (its life `timeout` seconds) in this process, sending the
    process's batch when `seconds` (interval()'s answer, which the caller already asked) have
    passed since the last one."""
    return _counts.count(key, timeout, seconds)


def send() -> int:
    return _counts.send()


def forget() -> None:
    _counts.forget()
