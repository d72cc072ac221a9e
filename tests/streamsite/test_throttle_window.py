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
    calls = []
    for name in ("get", "set", "add", "incr", "get_many"):
        original = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _n=name, _o=original, **k: calls.append(_n) or _o(*a, **k)
        )
    assert ThreePerMinute().allow_request(request, None) is True
    assert calls == ["incr"]
