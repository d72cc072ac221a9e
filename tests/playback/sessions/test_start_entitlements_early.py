"""Playback start reads the account's cached entitlements in the request's first cache round
trip, beside the shared counters (accounts.authentication asks the view, `reads_with_counters`,
once it knows the token's user: from memory, or from the token's row on its first request);
what rides along still decides only through billing's own check."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis as redis_py
from django.core.cache import cache, caches
from django.utils import timezone

from accounts.token_cache import EPOCH_KEY
from billing import clock
from billing.entitlements import cache_key
from billing.models import Plan, Subscription
from playback.models import PlaybackSession
from streamsite.cache import default_redis
from tests.clients import follow_auth_epoch, token_client
from tests.streamsite.conftest import needs_redis_server, wait_for
from tests.streamsite.conftest import own_redis as own_redis  # the fixture
from tests.streamsite.conftest import redis_server as redis_server  # the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    """Every cache read, as the list of keys it asked for (one entry per call or round trip)."""
    calls: list[list[str]] = []
    inside = [False]  # local memory's get_many calls get: record the outer call only
    backend = type(caches["default"])
    for name in ("get", "get_many"):
        original = getattr(backend, name)

        def recording(self, keys, *args, _original=original, **kwargs):
            if inside[0]:
                return _original(self, keys, *args, **kwargs)
            calls.append([keys] if isinstance(keys, str) else list(keys))
            inside[0] = True
            try:
                return _original(self, keys, *args, **kwargs)
            finally:
                inside[0] = False

        monkeypatch.setattr(backend, name, recording)
    redis = default_redis()
    if redis is not None:  # CI: the shared counters' one round trip is its own call
        original_trip = type(redis).get_many_and_count

        def trip(self, keys, counters):
            calls.append(list(keys))
            return original_trip(self, keys, counters)

        monkeypatch.setattr(type(redis), "get_many_and_count", trip)
    return calls


def start_as(client, profile, title):
    return client.post(
        "/api/v1/playback/sessions",
        {"title_id": title.pk},
        format="json",
        HTTP_X_PROFILE_ID=str(profile.pk),
    )


def test_a_start_reads_the_entitlements_with_the_counters(alice, alice_profile, movie, reads):
    client = token_client(alice)
    assert start_as(client, alice_profile, movie).status_code == 201  # the token is remembered
    reads.clear()
    assert start_as(client, alice_profile, movie).status_code == 201
    key = cache_key(alice.pk)
    asked = [call for call in reads if key in call]
    assert asked == [call for call in reads if EPOCH_KEY in call]
    assert len(asked) == 1


def test_the_first_request_of_a_token_reads_them_with_the_counters_too(
    alice, alice_profile, movie, reads
):
    client = token_client(alice)
    assert start_as(client, alice_profile, movie).status_code == 201
    key = cache_key(alice.pk)
    # The token was not remembered: its row was read first, then the counters with the rider.
    asked = [call for call in reads if key in call]
    assert asked == [call for call in reads if EPOCH_KEY in call]
    assert len(asked) == 1


def test_listing_sessions_does_not_read_them(alice, alice_profile, movie, reads):
    client = token_client(alice)
    client.get("/api/v1/playback/sessions")
    reads.clear()
    assert client.get("/api/v1/playback/sessions").status_code == 200
    assert not [call for call in reads if cache_key(alice.pk) in call]


def test_what_rides_along_is_what_decides(alice, alice_profile, movie):
    client = token_client(alice)
    assert start_as(client, alice_profile, movie).status_code == 201
    refused = {
        "can_stream": False,
        "max_streams": 0,
        "max_resolution": 0,
        "max_profiles": 5,
        "plan_code": "standard",
        "status": "canceled",
        "reason": "Your subscription was canceled. Pick a plan to come back.",
    }
    cache.set(cache_key(alice.pk), {"value": refused, "valid_until": None})
    response = start_as(client, alice_profile, movie)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_entitled"
    assert PlaybackSession.objects.count() == 1


def test_a_value_past_its_end_is_computed_again(alice, alice_profile, movie):
    client = token_client(alice)
    assert start_as(client, alice_profile, movie).status_code == 201
    refused_until_yesterday = {
        "value": {
            "can_stream": False,
            "max_streams": 0,
            "max_resolution": 0,
            "max_profiles": 5,
            "plan_code": "standard",
            "status": "past_due",
            "reason": "Your payment is overdue.",
        },
        "valid_until": clock.now() - timedelta(days=1),
    }
    cache.set(cache_key(alice.pk), refused_until_yesterday)
    # The subscription (trialing) allows streaming: the stale value is not used.
    assert start_as(client, alice_profile, movie).status_code == 201
    assert PlaybackSession.objects.count() == 2


def test_a_change_in_the_same_request_drops_what_rode_along(alice):
    """billing.entitlements.invalidate in a request that read the key early: the next read in
    that request computes them again instead of answering with the early value."""
    from billing import entitlements
    from billing.models import Subscription, SubscriptionStatus
    from streamsite import shared_counters

    entitlements.get_entitlements(alice)  # cached: alice may stream
    with shared_counters.request_scope():
        shared_counters.also_get([cache_key(alice.pk)])
        shared_counters.read(EPOCH_KEY)  # the request's first round trip, with the rider
        Subscription.objects.filter(account=alice).update(status=SubscriptionStatus.EXPIRED)
        entitlements.invalidate(alice.pk)
        assert entitlements.get_entitlements(alice).can_stream is False


def test_with_the_cache_gone_a_remembered_token_starts_from_the_database(
    alice, alice_profile, movie, settings, monkeypatch
):
    from bench.chaos import infra
    from streamsite import shared_counters

    client = token_client(alice)
    assert start_as(client, alice_profile, movie).status_code == 201  # remembered
    asked: list[str] = []
    original = shared_counters.also_get
    monkeypatch.setattr(
        shared_counters, "also_get", lambda keys: (asked.extend(keys), original(keys))[1]
    )
    settings.CACHES = {
        "default": {
            "BACKEND": "streamsite.cache.FailSoftRedisCache",
            "LOCATION": f"redis://127.0.0.1:{infra.free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = start_as(client, alice_profile, movie)
    assert response.status_code == 201, response.content
    assert cache_key(alice.pk) in asked  # it rode along, came back empty, and was computed
    assert PlaybackSession.objects.count() == 2


@needs_redis_server
@pytest.mark.needs_process  # a redis-server of its own
def test_a_repeated_start_reads_them_from_the_process_and_hears_of_a_change(
    own_redis, alice, alice_profile, movie, redis_trips
):
    """With near copies on (production's path), an account's entitlements are kept by the
    process: a start with a remembered token makes no Redis round trip at all. A plan change
    made by another process (its delete of the key after commit) reaches the next start."""
    client = token_client(alice)
    follow_auth_epoch()
    for _ in range(3):  # the token remembered, the entitlements computed, then read and kept
        assert start_as(client, alice_profile, movie).status_code == 201
        PlaybackSession.objects.update(ended_at=timezone.now())
    before = len(redis_trips)
    started = start_as(client, alice_profile, movie)
    assert started.status_code == 201 and started.json()["max_resolution"] == 1080
    assert redis_trips[before:] == []
    PlaybackSession.objects.update(ended_at=timezone.now())

    premium = Plan.objects.get(code="premium")
    Subscription.objects.filter(account=alice).update(plan=premium)
    redis_py.Redis.from_url(own_redis.url).delete(caches["default"].make_key(cache_key(alice.pk)))

    def resolution_now() -> int:
        started = start_as(client, alice_profile, movie)
        assert started.status_code == 201
        PlaybackSession.objects.update(ended_at=timezone.now())
        return started.json()["max_resolution"]

    assert wait_for(lambda: resolution_now() == 2160), "the plan change never reached the process"
