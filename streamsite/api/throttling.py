"""DRF throttles that key anonymous clients by the real client address (TRUSTED_PROXIES), and
count in fixed windows: one cache round trip per request (an INCR on the window's counter)
instead of DRF's sliding log (a read and a write of the whole request history). A client
can burst up to twice the rate across a window boundary; measured in docs/benchmarks.md
(request path), where the throttle's round trips were a third of a cached request's.

For a remembered API token the user is known before authentication has read the shared
counters, so the user's window is counted in that same round trip (`count_early`, called by
accounts.authentication; streamsite.shared_counters) and the throttle takes the count from
there: a throttled API request then costs one round trip in all, not two. The throttle still
decides from its own key: a count made early for another key (the window turned meanwhile, or
the token turned out not to be valid) is not used, and the throttle counts its key itself
(the early count then counts once more against that user: stricter, never looser).

With API_THROTTLE_SYNC_MS set (production's default) the windows are counted in the process
and sent to Redis in batches (streamsite.window_counts): no round trip per request at all."""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from streamsite import shared_counters, window_counts
from streamsite.client_address import client_address


class FixedWindowMixin:
    """allow_request/wait for SimpleRateThrottle subclasses, counting per window."""

    rate: str | None
    num_requests: int
    duration: int
    cache: Any
    key: str | None
    now: float

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        self.now = self.timer()  # type: ignore[attr-defined]
        counter = self._counter(self.key)
        self.window_ends = (int(self.now // self.duration) + 1) * self.duration
        batch_seconds = window_counts.interval()
        if batch_seconds is not None:  # counted here, sent in batches
            counted = window_counts.count(counter, self.duration + 1, batch_seconds)
            return counted <= self.num_requests
        count = shared_counters.take_count(counter)
        if count is None:
            count = shared_counters.count(counter, self.duration + 1)
            if count is None:  # cache down: fail open, as streamsite.cache does
                return True
        return count <= self.num_requests

    def _counter(self, key: str) -> str:
        return f"{key}:w{int(self.now // self.duration)}"

    def early_counter(self, user_id: int) -> str | None:
        """The counter `allow_request` will count for this authenticated user now, or None
        when this throttle does not count authenticated users."""
        return None

    def wait(self) -> float:
        return max(0.001, self.window_ends - self.now)


def count_early(view: Any, user_id: int) -> None:
    """Count the view's throttle windows for `user_id` with the request's first read of the
    shared counters (the caller knows the user before authentication has finished). Not
    when the windows are counted in the process (streamsite.window_counts)."""
    if window_counts.interval() is not None:
        return
    for throttle in view.get_throttles():
        if isinstance(throttle, FixedWindowMixin) and throttle.rate is not None:
            throttle.now = throttle.timer()  # type: ignore[attr-defined]
            counter = throttle.early_counter(user_id)
            if counter is not None:
                shared_counters.also_count(counter, throttle.duration + 1)


class AnonRateThrottle(FixedWindowMixin, throttling.AnonRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_address(request)


class UserRateThrottle(FixedWindowMixin, throttling.UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_address(request)

    def early_counter(self, user_id: int) -> str | None:
        # DRF's UserRateThrottle.get_cache_key for an authenticated user
        return self._counter(self.cache_format % {"scope": self.scope, "ident": user_id})
