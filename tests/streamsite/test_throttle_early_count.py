"""A remembered API token's throttle window is counted in the same cache round trip as the
request's shared counters (streamsite.api.throttling.count_early): the limit still holds, each
request is counted exactly once, and the throttle takes its count from that round trip."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.token_cache import EPOCH_KEY
from streamsite import shared_counters
from streamsite.api.throttling import AnonRateThrottle, UserRateThrottle, count_early
from tests.clients import token_client

pytestmark = pytest.mark.django_db
NOW = 6000.0 + 10  # 10 s into a minute window


@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(
        UserRateThrottle,
        "THROTTLE_RATES",
        {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/min"},
    )
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: NOW)


@pytest.fixture
def taken(monkeypatch):
    """What the throttle took from the counters' round trip, per request."""
    results: list[int | None] = []
    original = shared_counters.take_count

    def recording(key: str) -> int | None:
        count = original(key)
        results.append(count)
        return count

    monkeypatch.setattr(shared_counters, "take_count", recording)
    return results


def window_key(user) -> str:
    return f"throttle_user_{user.pk}:w{int(NOW // 60)}"


def test_the_limit_holds_and_each_request_counts_once(alice, two_per_minute, taken):
    client = token_client(alice)
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert cache.get(window_key(alice)) == 3
    # each request counted with the counters' read: the first once its token's row was read
    assert taken == [1, 2, 3]


def test_a_refused_request_stays_refused_in_the_next_ones(alice, two_per_minute):
    client = token_client(alice)
    for _ in range(2):
        client.get("/api/v1/me")
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [429, 429, 429]
    assert cache.get(window_key(alice)) == 5


def test_users_are_counted_apart(alice, bob, two_per_minute):
    first, second = token_client(alice), token_client(bob)
    assert [first.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    assert [second.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    assert cache.get(window_key(alice)) == 2
    assert cache.get(window_key(bob)) == 2


class UserThrottled(APIView):
    throttle_classes = [UserRateThrottle]


class AnonThrottled(APIView):
    throttle_classes = [AnonRateThrottle]


@pytest.mark.parametrize(("view", "counted"), [(UserThrottled, 1), (AnonThrottled, None)])
def test_only_the_views_own_user_throttle_is_counted_early(alice, two_per_minute, view, counted):
    cache.delete(window_key(alice))
    with shared_counters.request_scope():
        count_early(view(), alice.pk)
        shared_counters.read(EPOCH_KEY)
        assert shared_counters.take_count(window_key(alice)) == counted
    assert cache.get(window_key(alice)) == counted
