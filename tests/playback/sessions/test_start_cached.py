"""Playback start with the catalogue cache on (as in production): the title and its
availability come from catalog's shared copies, and a change to either is refused at once;
with the cache away the start reads the rows and refuses the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Availability, Title
from playback.models import PlaybackSession
from tests.playback.sessions.conftest import client_for, write_fake_asset
from tests.playback.sessions.factories import TitleFactory
from tests.playback.sessions.test_start_queries import CLAIM, _shape

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 300


def start(client, title):
    return client.post("/api/v1/playback/sessions", {"title_id": title.pk}, format="json")


def shapes_of(do) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        result = do()
    return result, [_shape(q["sql"]) for q in ctx.captured_queries]


def test_a_warm_start_reads_neither_the_title_its_availability_nor_its_asset(
    alice_client, movie, limit
):
    limit(max_streams=10)
    assert start(alice_client, movie).status_code == 201  # warms the copies
    response, shapes = shapes_of(lambda: start(alice_client, movie))
    assert response.status_code == 201, response.content
    assert response.json()["title"] == {"id": movie.pk, "name": "The Long Take"}
    assert shapes == CLAIM  # the asset: media.ready_copies (this one's files are local)
    assert PlaybackSession.objects.filter(title=movie).count() == 2


def test_a_closed_window_is_refused_on_the_next_start(alice_client, movie, limit):
    limit(max_streams=10)
    assert start(alice_client, movie).status_code == 201
    window = Availability.objects.get(title=movie)
    window.ends_at = timezone.now() - timedelta(seconds=1)
    window.save()  # bumps the catalogue version (catalog.receivers)
    response = start(alice_client, movie)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "region"
    assert PlaybackSession.objects.count() == 1


def test_an_unpublished_title_is_refused_on_the_next_start(alice_client, movie, limit):
    limit(max_streams=10)
    assert start(alice_client, movie).status_code == 201
    title = Title.objects.get(pk=movie.pk)
    title.is_published = False
    title.save()
    response = start(alice_client, movie)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unavailable"
    assert PlaybackSession.objects.count() == 1


def test_what_one_profile_may_see_is_not_what_another_may(
    alice, alice_client, alice_kid, media_root, limit
):
    limit(max_streams=10)
    adult = TitleFactory(name="Late Show", rating="TV-MA")
    write_fake_asset(media_root, f"title-{adult.pk}")
    assert start(alice_client, adult).status_code == 201  # the adult profile's copies, warm
    response = start(client_for(alice, alice_kid), adult)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "maturity"
    assert PlaybackSession.objects.filter(profile=alice_kid).count() == 0


def test_a_title_outside_the_country_is_refused_though_another_country_warmed_it(
    alice, alice_client, bob, bob_profile, media_root, limit
):
    limit(max_streams=10)
    local = TitleFactory(name="Home Only", countries=["US"])
    write_fake_asset(media_root, f"title-{local.pk}")
    alice.country, bob.country = "US", "DE"
    alice.save()
    bob.save()
    assert start(alice_client, local).status_code == 201  # warm for the US viewer
    response = start(client_for(bob, bob_profile), local)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "region"
    assert PlaybackSession.objects.filter(account=bob).count() == 0


def test_with_the_cache_away_starts_read_the_rows_and_refuse_alike(
    alice_client, movie, media_root, limit, dead_cache
):
    limit(max_streams=10)
    hidden = TitleFactory(name="Nowhere", countries=[])
    write_fake_asset(media_root, f"title-{hidden.pk}")
    for _ in range(2):
        response, shapes = shapes_of(lambda: start(alice_client, movie))
        assert response.status_code == 201, response.content
        assert shapes[:3] == [
            "SELECT accounts_profile",
            "SELECT catalog_title",
            "SELECT availability",
        ]
        refused, _ = shapes_of(lambda: start(alice_client, hidden))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "region"
    assert PlaybackSession.objects.filter(title=hidden).count() == 0
