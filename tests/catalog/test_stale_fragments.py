"""Stale-while-revalidate of the shared catalogue fragments (catalog.caching): past
CATALOG_CACHE_SECONDS a fragment is still served while one request refreshes it, one refresh
at a time per process and one per fragment across processes, never past
CATALOG_STALE_SECONDS, a licensing window's edge or a catalogue write."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.utils import timezone

from catalog import caching
from catalog.models import Availability
from catalog.selectors.viewer import Viewer
from tests.catalog.factories import TitleFactory

VIEWER = Viewer(country="US", max_maturity=18)


class Clock:
    """Wall and monotonic time for catalog.caching, moved by hand."""

    def __init__(self) -> None:
        self.now = time.time()
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@pytest.fixture
def clock(monkeypatch, settings):
    settings.CATALOG_CACHE_SECONDS = 300
    settings.CATALOG_STALE_SECONDS = 300
    c = Clock()
    fake = SimpleNamespace(time=lambda: c.now, monotonic=lambda: c.mono, time_ns=time.time_ns)
    monkeypatch.setattr(caching, "time", fake)
    return c


class Builder:
    """A fragment's build: counts its calls, answers "v1", "v2", ...; takes `took` seconds
    of the fake clock."""

    def __init__(self, clock: Clock, took: float = 0.04) -> None:
        self.clock, self.took, self.calls = clock, took, 0

    def __call__(self) -> str:
        self.calls += 1
        self.clock.advance(self.took)
        return f"v{self.calls}"


def read(name: str, build) -> str:
    return caching.cached_fragment(name, VIEWER, (), build)


def gone_stale(clock: Clock) -> Builder:
    """Fragment "a", built once and now past its fresh life (stale): its builder."""
    build = Builder(clock)
    read("a", build)
    clock.advance(301)
    return build


def claim_key(name: str) -> str:
    return caching.fragment_key(name, VIEWER) + ":refresh"


@pytest.mark.django_db
class TestStaleWhileRevalidate:
    def test_fresh_is_served_without_a_build(self, clock):
        build = Builder(clock)
        assert read("a", build) == "v1"
        clock.advance(299)
        assert read("a", build) == "v1"
        assert build.calls == 1

    def test_the_first_request_past_the_life_refreshes_and_the_next_reads_the_new(self, clock):
        build = gone_stale(clock)
        assert read("a", build) == "v2"  # this request's turn: it refreshes
        assert read("a", build) == "v2"
        assert build.calls == 2
        assert cache.get(claim_key("a")) is None  # the claim is given back

    def test_while_the_process_rests_other_stale_fragments_are_served_stale(self, clock):
        a, b = Builder(clock, took=0.05), Builder(clock, took=0.05)
        read("a", a)
        read("b", b)
        clock.advance(301)
        assert read("a", a) == "v2"  # refreshed: the process now rests 3 x 0.05 s
        assert read("b", b) == "v1"  # stale, served as it is
        assert b.calls == 1
        clock.advance(0.16)
        assert read("b", b) == "v2"  # rested: the next stale one is refreshed
        assert b.calls == 2

    def test_a_fragment_another_process_is_refreshing_is_served_stale(self, clock):
        build = gone_stale(clock)
        cache.add(claim_key("a"), 1, timeout=30)  # another process's claim
        assert read("a", build) == "v1"
        assert build.calls == 1
        cache.delete(claim_key("a"))  # its refresh ended without a store (it failed)
        assert read("a", build) == "v2"  # the claim was not this process's turn spent

    def test_another_process_refreshed_it_this_one_adopts_it(self, clock):
        build, other = Builder(clock), Builder(clock)
        read("a", build)
        read("b", other)
        clock.advance(301)
        key = caching.fragment_key("a", VIEWER)
        version = caching.catalog_version()
        cache.set(key, (version, clock.now + 300, clock.now + 600, "theirs"), timeout=600)
        assert read("a", build) == "theirs"
        assert build.calls == 1
        assert read("b", other) == "v2"  # the turn was given back: "b" is refreshed

    def test_a_stale_fragment_only_in_the_shared_cache_is_served_and_refreshed(self, clock):
        build = gone_stale(clock)
        caching._copies.clear()  # a new process: no copy of its own
        assert read("a", build) == "v2"  # its turn: refreshed
        caching._copies.clear()
        cache.add(claim_key("a"), 1, timeout=30)
        clock.advance(301)
        assert read("a", build) == "v2"  # someone else's refresh: the shared stale entry
        assert build.calls == 2

    def test_past_the_stale_life_it_is_a_miss_even_while_resting(self, clock):
        build, other = Builder(clock), Builder(clock, took=10)
        read("a", build)
        read("b", other)
        clock.advance(301)
        read("b", other)  # a long refresh: the process rests 30 s
        clock.advance(300)  # "a" is now 601 s old
        assert read("a", build) == "v2"
        assert build.calls == 2

    def test_a_catalogue_write_is_never_served_stale(self, clock):
        build = gone_stale(clock)
        cache.add(claim_key("a"), 1, timeout=30)  # even with a refresh under way elsewhere
        caching._bump()
        assert read("a", build) == "v2"

    def test_no_stale_life_past_a_licensing_window(self, clock):
        title = TitleFactory()
        Availability.objects.filter(title=title).update(
            ends_at=timezone.now() + timedelta(seconds=30)
        )
        fresh, usable = caching.fragment_lives()
        assert fresh in (30, 31) and usable == fresh  # whole seconds, rounded up
        build = Builder(clock)
        read("a", build)
        clock.advance(32)
        cache.add(claim_key("a"), 1, timeout=30)
        assert read("a", build) == "v2"  # past the window: built, not served stale

    def test_stale_seconds_zero_turns_it_off(self, clock, settings):
        settings.CATALOG_STALE_SECONDS = 0
        build = gone_stale(clock)
        cache.add(claim_key("a"), 1, timeout=30)
        assert read("a", build) == "v2"

    def test_a_failed_refresh_gives_back_the_claim_and_the_turn(self, clock):
        build = gone_stale(clock)

        def broken() -> str:
            clock.advance(0.01)
            raise RuntimeError("a bug in the builder")

        with pytest.raises(RuntimeError):
            read("a", broken)
        assert cache.get(claim_key("a")) is None
        clock.advance(0.031)  # rested 3 x 0.01 s
        assert read("a", build) == "v2"

    def test_a_refresh_the_database_fails_serves_the_stale_fragment(self, clock, caplog):
        gone_stale(clock)

        def database_down() -> str:
            raise OperationalError("connection refused")

        assert read("a", database_down) == "v1"
        assert cache.get(claim_key("a")) is None
        assert "refresh failed, served stale" in caplog.text

    def test_inside_a_transaction_a_database_failure_is_raised(self, clock):
        gone_stale(clock)

        def database_down() -> str:
            raise OperationalError("connection refused")

        with pytest.raises(OperationalError), transaction.atomic():
            read("a", database_down)

    def test_a_turn_lost_with_its_request_comes_back_after_a_claims_life(self, clock):
        a, b = Builder(clock), Builder(clock)
        read("a", a)
        read("b", b)
        clock.advance(301)
        assert caching._pace.take_turn()  # a request took the turn and died before resting
        assert read("a", a) == "v1"  # served stale: no turn
        clock.advance(caching.REFRESH_CLAIM_SECONDS)
        assert read("b", b) == "v2"  # the lease ran out: refreshed
