"""Shared counters (catalogue version, auth epoch) come in one cache round trip per request,
and a bump inside the request is seen by that request's later reads."""

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
    token = shared_counters._snapshot.set({shared_counters._UNREAD: True})
    yield
    shared_counters._snapshot.reset(token)


@pytest.fixture
def counted(monkeypatch):
    calls: list[tuple[str, object]] = []
    get, get_many = cache.get, cache.get_many
    inside = [False]  # the local-memory cache's get_many calls get per key

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
    token = shared_counters._snapshot.set({shared_counters._UNREAD: True})
    assert shared_counters.read(VERSION_KEY) == 41
    cache.incr(VERSION_KEY)  # another process: this request keeps its snapshot
    assert shared_counters.read(VERSION_KEY) == 41
    shared_counters._snapshot.reset(token)
    token = shared_counters._snapshot.set({shared_counters._UNREAD: True})
    assert shared_counters.read(VERSION_KEY) == 42
    shared_counters._snapshot.reset(token)


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
