"""The API throttles count in fixed windows with one cache call per request (the request path
bench's reason, docs/benchmarks.md): the limit holds inside a window, the next window starts
afresh, and Retry-After is the time left in the window."""

from __future__ import annotations

from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.request import Request

from streamsite.api.throttling import AnonRateThrottle


class ThreePerMinute(AnonRateThrottle):
    rate = "3/min"


def test_three_per_window_then_refused_then_a_new_window(monkeypatch):
    clock = {"now": 6000.0 + 10}  # 10 s into a minute window
    request = Request(RequestFactory().get("/", REMOTE_ADDR="198.51.100.9"))

    def attempt() -> tuple[bool, float]:
        throttle = ThreePerMinute()
        monkeypatch.setattr(throttle, "timer", lambda: clock["now"])
        allowed = throttle.allow_request(request, None)
        return allowed, throttle.wait()

    assert [attempt()[0] for _ in range(3)] == [True, True, True]
    allowed, wait = attempt()
    assert allowed is False
    assert wait == 50.0
    clock["now"] += 50  # the next window
    assert attempt()[0] is True


def test_one_cache_call_per_counted_request(monkeypatch):
    request = Request(RequestFactory().get("/", REMOTE_ADDR="198.51.100.10"))
    ThreePerMinute().allow_request(request, None)  # the window's counter exists now
    calls = _spy_on_cache(monkeypatch)
    assert ThreePerMinute().allow_request(request, None) is True
    assert len(calls) == 1 and calls[0] in {"incr", "get_many_and_count"}, calls


def test_a_new_window_is_one_round_trip_on_redis(monkeypatch):
    """The first count of a window creates its counter: with Redis, in the same round trip
    (SET NX EX, then INCR); a cache without one takes incr (refused) and add."""
    request = Request(RequestFactory().get("/", REMOTE_ADDR="198.51.100.11"))
    calls = _spy_on_cache(monkeypatch)
    assert ThreePerMinute().allow_request(request, None) is True
    redis = hasattr(cache, "get_many_and_count")
    assert calls == (["get_many_and_count"] if redis else ["incr", "add"]), calls
    calls.clear()
    assert ThreePerMinute().allow_request(request, None) is True  # counted: the second
    assert len(calls) == 1


def _spy_on_cache(monkeypatch) -> list[str]:
    calls: list[str] = []
    names = ["get", "set", "add", "incr", "get_many"]
    if hasattr(cache, "get_many_and_count"):
        names.append("get_many_and_count")
    for name in names:
        original = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _n=name, _o=original, **k: calls.append(_n) or _o(*a, **k)
        )
    return calls
