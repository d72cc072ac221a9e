"""Throttle windows counted in the process, sent to Redis in batches: a process alone counts
exactly, processes learn each other's counts at each batch, and nothing counted is lost while
Redis is away."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from streamsite import window_counts
from streamsite.cache import FailSoftRedisCache
from streamsite.window_counts import WindowCounts
from tests.streamsite.conftest import needs_redis_server

pytestmark = [needs_redis_server, pytest.mark.needs_process]  # a redis-server of its own


@pytest.fixture
def redis_cache(redis_server, settings):
    settings.CACHES = {
        "default": {"BACKEND": "streamsite.cache.FailSoftRedisCache", "LOCATION": redis_server.url}
    }
    settings.API_THROTTLE_SYNC_MS = 500
    cache = caches["default"]
    assert isinstance(cache, FailSoftRedisCache)
    return cache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_process_alone_counts_exactly_with_one_round_trip_per_interval(redis_cache, redis_trips):
    clock = Clock()
    counts = WindowCounts(clock)
    assert [counts.count("w", 61, 0.5) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert redis_trips == []  # within the first interval: nothing sent
    clock.now += 0.5
    assert counts.count("w", 61, 0.5) == 6  # due: this count sends the six
    assert redis_trips == [["SET", "INCRBY"]]
    assert redis_cache.get("w") == 6
    assert [counts.count("w", 61, 0.5) for _ in range(3)] == [7, 8, 9]
    assert len(redis_trips) == 1


def test_processes_learn_each_others_counts_at_each_batch(redis_cache):
    clock = Clock()
    first, second = WindowCounts(clock), WindowCounts(clock)
    for _ in range(4):
        first.count("w", 61, 0.5)
    assert second.count("w", 61, 0.5) == 1  # has not heard of the first's four yet
    assert first.send() == 1 and second.send() == 1
    assert redis_cache.get("w") == 5
    assert second.count("w", 61, 0.5) == 6  # its batch answered the window's total
    assert first.count("w", 61, 0.5) == 5  # its batch came before the second's
    first.send(), second.send()
    assert (first.count("w", 61, 0.5), second.count("w", 61, 0.5)) == (7, 8)


def test_counts_wait_while_redis_is_away_and_go_when_it_is_back(redis_cache, redis_server):
    clock = Clock()
    counts = WindowCounts(clock)
    counts.count("w", 61, 0.5)
    counts.count("w", 61, 0.5)
    redis_server.kill()
    assert counts.send() == 0
    assert counts.count("w", 61, 0.5) == 3  # still counted here
    redis_server.start()
    redis_cache._down_until = 0.0
    assert counts.send() == 1
    assert redis_cache.get("w") == 3


def test_a_window_past_its_life_is_forgotten_and_starts_again(redis_cache):
    clock = Clock()
    counts = WindowCounts(clock)
    counts.count("w", 2, 0.5)
    counts.count("w", 2, 0.5)
    clock.now += 2
    assert counts.count("w", 2, 0.5) == 1
    clock.now += 2
    counts.send()
    assert counts._windows == {}


@pytest.mark.django_db
def test_the_api_throttle_counts_here_and_refuses_past_its_rate(
    redis_cache, alice_api, redis_trips, monkeypatch
):
    from streamsite.api.throttling import UserRateThrottle

    # The class the API uses (a parent's attribute could be shadowed by its own).
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"anon": "60/min", "user": "3/min"})
    # One minute's window throughout (a real clock can turn the minute between two requests).
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: 6_000_030.0)
    clock = Clock()
    monkeypatch.setattr(window_counts._counts, "clock", clock)
    window_counts.forget()
    codes = [alice_api.get("/api/v1/titles").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert not any("INCRBY" in trip for trip in redis_trips)  # no count went to Redis yet
    clock.now += 0.5
    assert alice_api.get("/api/v1/titles").status_code == 429  # and this one sends the five
    assert [trip.count("INCRBY") for trip in redis_trips if "INCRBY" in trip] == [1]
    window_counts.forget()
