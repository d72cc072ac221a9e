"""Shared counters (catalogue version, auth epoch) come in one cache round trip per request,
and a bump inside the request is seen by that request's later reads; what rides along with
that read (keys to read, counters to count) is read or counted once, and never twice."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.token_cache import EPOCH_KEY
from catalog.caching import VERSION_KEY, catalog_changed
from streamsite import shared_counters
from tests.catalog.factories import ProfileFactory, TitleFactory
from tests.clients import api_client


@pytest.fixture
def in_request():
    with shared_counters.request_scope():
        yield


@pytest.fixture
def counted(monkeypatch):
    """Cache reads, in order. The Redis cache reads the counters with what rides along in one
    `get_many_and_count`; other caches with `get_many` (counting riders one by one)."""
    calls: list[tuple[str, object]] = []
    get, get_many = cache.get, cache.get_many
    inside = [False]  # the local-memory cache's get_many calls get per key
    combined = getattr(cache, "get_many_and_count", None)
    if combined is not None:

        def counting_combined(keys, counters):
            calls.append(("get_many", tuple(keys)))
            return combined(keys, counters)

        monkeypatch.setattr(cache, "get_many_and_count", counting_combined)

    def counting_get(key, *args, **kwargs):
        if not inside[0]:
            calls.append(("get", key))
        return get(key, *args, **kwargs)

    def counting_get_many(keys, *args, **kwargs):
        calls.append(("get_many", tuple(keys)))
        inside[0] = True
        try:
            return get_many(keys, *args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(cache, "get", counting_get)
    monkeypatch.setattr(cache, "get_many", counting_get_many)
    return calls


def test_inside_a_request_every_counter_comes_in_one_read(in_request, counted):
    cache.set(VERSION_KEY, 41)
    cache.set(EPOCH_KEY, 7)
    counted.clear()
    assert shared_counters.read(VERSION_KEY) == 41
    assert shared_counters.read(EPOCH_KEY) == 7
    assert shared_counters.read(VERSION_KEY) == 41
    assert counted == [("get_many", tuple(shared_counters._KEYS))]
    assert {VERSION_KEY, EPOCH_KEY} <= set(shared_counters._KEYS)


@pytest.mark.django_db
def test_a_bump_in_the_request_is_read_back(in_request):
    cache.set(VERSION_KEY, 41)
    assert shared_counters.read(VERSION_KEY) == 41
    catalog_changed()
    assert shared_counters.read(VERSION_KEY) == 42


def test_another_process_bump_is_seen_by_the_next_request(counted):
    cache.set(VERSION_KEY, 41)
    with shared_counters.request_scope():
        assert shared_counters.read(VERSION_KEY) == 41
        cache.incr(VERSION_KEY)  # another process: this request keeps its snapshot
        assert shared_counters.read(VERSION_KEY) == 41
    with shared_counters.request_scope():
        assert shared_counters.read(VERSION_KEY) == 42


def test_outside_a_request_every_read_goes_to_the_cache(counted):
    cache.set(VERSION_KEY, 41)
    counted.clear()
    assert shared_counters.read(VERSION_KEY) == 41
    cache.incr(VERSION_KEY)
    assert shared_counters.read(VERSION_KEY) == 42
    assert counted == [("get", VERSION_KEY), ("get", VERSION_KEY)]


@pytest.mark.django_db
def test_an_api_request_reads_the_counters_once(alice, counted, settings):
    settings.CATALOG_CACHE_SECONDS = 300
    client = api_client(alice, ProfileFactory(account=alice))
    TitleFactory()
    client.get("/api/v1/titles")
    counted.clear()
    assert client.get("/api/v1/titles").status_code == 200
    reads = [c for c in counted if c[0] == "get_many" and VERSION_KEY in c[1]]
    assert len(reads) == 1, counted
    assert not [c for c in counted if c == ("get", VERSION_KEY) or c == ("get", EPOCH_KEY)]


def test_riders_are_read_and_counted_with_the_first_read(in_request, counted):
    cache.set(VERSION_KEY, 41)
    cache.set("rider:body", {"body": 1})
    cache.delete("rider:window")
    shared_counters.also_get(["rider:body", "rider:absent"])
    shared_counters.also_count("rider:window", 60)
    counted.clear()
    assert shared_counters.read(VERSION_KEY) == 41
    assert counted == [("get_many", (*shared_counters._KEYS, "rider:body", "rider:absent"))]
    assert shared_counters.get_many(["rider:body", "rider:absent"]) == {"rider:body": {"body": 1}}
    assert shared_counters.take_count("rider:window") == 1
    assert cache.get("rider:window") == 1
    assert len([c for c in counted if c[0] == "get_many"]) == 1  # riders answered from memory
    # each rider once: asked again, they come from the cache, and the count is not there
    cache.set("rider:body", {"body": 2})
    assert shared_counters.get_many(["rider:body"]) == {"rider:body": {"body": 2}}
    assert shared_counters.take_count("rider:window") is None


def test_riders_after_the_first_read_are_not_sent(in_request):
    cache.delete("rider:late")
    shared_counters.read(VERSION_KEY)
    shared_counters.also_count("rider:late", 60)
    shared_counters.also_get(["rider:late-key"])
    assert shared_counters.take_count("rider:late") is None
    assert cache.get("rider:late") is None  # not counted: its owner counts it itself


def test_a_count_taken_before_the_first_read_is_never_sent(in_request):
    cache.delete("rider:taken")
    shared_counters.also_count("rider:taken", 60)
    assert shared_counters.take_count("rider:taken") is None  # the owner counts it itself
    shared_counters.read(VERSION_KEY)
    assert cache.get("rider:taken") is None  # so it is not counted a second time


@pytest.mark.django_db
def test_a_bump_drops_what_rode_along(in_request):
    cache.set("rider:body", "old")
    shared_counters.also_get(["rider:body"])
    shared_counters.read(VERSION_KEY)
    cache.set("rider:body", "new")
    catalog_changed()  # this request wrote: what it read before is read again
    assert shared_counters.get_many(["rider:body"]) == {"rider:body": "new"}


def test_get_now_before_the_first_read_is_that_read(in_request, counted):
    cache.set(VERSION_KEY, 41)
    cache.set("session-like", {"u": 1})
    shared_counters.also_get(["rider"])
    counted.clear()
    assert shared_counters.get_now("session-like") == {"u": 1}
    assert shared_counters.read(VERSION_KEY) == 41  # already here: no second read
    assert shared_counters.get_many(["rider"]) == {}  # rode along (absent), not fetched again
    assert len(counted) == 1 and counted[0][0] == "get_many"
    assert {"session-like", "rider", VERSION_KEY} <= set(counted[0][1])


def test_get_now_after_the_first_read_is_a_read_of_its_own(in_request, counted):
    cache.set("session-like", {"u": 1})
    shared_counters.read(VERSION_KEY)
    counted.clear()
    assert shared_counters.get_now("session-like") == {"u": 1}
    assert counted == [("get", "session-like")]


def test_get_now_outside_a_request_reads_the_cache(counted):
    cache.set("session-like", {"u": 2})
    counted.clear()
    assert shared_counters.get_now("session-like") == {"u": 2}
    assert counted == [("get", "session-like")]
