"""The request path with the shared-fragment cache on (catalog.caching): what a repeated request
costs in queries, and that a change to a title, its availability or its artwork is seen on
the next request (the test settings turn the cache off for every other test)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.selectors import SESSION_PROFILE
from catalog import caching
from catalog.models import Artwork, Availability, Title
from catalog.services.titles import availability_set, titles_set_published
from tests.catalog.factories import GenreFactory, TitleFactory
from tests.playback.test_movielens import ml100k


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 300


def signed_in(client, user, profile):
    client.force_login(user)
    session = client.session
    session[SESSION_PROFILE] = profile.pk
    session.save()
    return client


def queries(do) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        do()
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
class TestApiBodies:
    def test_titles_list_hit_costs_no_query(self, as_alice):
        for i in range(30):
            TitleFactory(name=f"T{i}", genres=[GenreFactory()])
        first = as_alice.get("/api/v1/titles")
        assert first.status_code == 200
        # the body from this process's copy, the profile remembered (accounts.token_cache)
        assert queries(lambda: as_alice.get("/api/v1/titles")) == []
        again = as_alice.get("/api/v1/titles")
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
        assert again["Cache-Control"] == "private, no-cache"

    def test_title_detail_hit_costs_no_query(self, as_alice):
        title = TitleFactory()
        as_alice.get(f"/api/v1/titles/{title.pk}")
        assert queries(lambda: as_alice.get(f"/api/v1/titles/{title.pk}")) == []

    def test_304_for_the_current_etag_without_rendering(self, as_alice):
        TitleFactory()
        etag = as_alice.get("/api/v1/titles")["ETag"]
        response = as_alice.get("/api/v1/titles", HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag

    def test_changing_a_title_changes_the_cached_list(self, as_alice):
        title = TitleFactory(name="Before")
        assert [t["name"] for t in as_alice.get("/api/v1/titles").json()["results"]] == ["Before"]
        title.name = "After"
        title.save()
        body = as_alice.get("/api/v1/titles").json()
        assert [t["name"] for t in body["results"]] == ["After"]

    def test_closing_availability_removes_the_title_from_the_cached_list(self, as_alice):
        title = TitleFactory(name="Leaving")
        TitleFactory(name="Staying")
        assert as_alice.get("/api/v1/titles").json()["count"] == 2
        Availability.objects.filter(title=title).update(ends_at=timezone.now())  # no signal
        caching.catalog_changed()  # what services and the admin's saves do through receivers
        assert as_alice.get("/api/v1/titles").json()["count"] == 2 - 1
        window = Availability.objects.get(title=title)
        window.ends_at = None
        window.save()  # a save goes through the receivers by itself
        assert as_alice.get("/api/v1/titles").json()["count"] == 2

    def test_licensing_a_title_with_no_window_shows_it_at_once(self, as_alice):
        """availability_set writes in bulk (no post_save); a title that had no window deletes
        nothing either, so the service itself must retire the cached list."""
        TitleFactory(name="Staying")
        arriving = TitleFactory(name="Arriving", countries=[])
        assert as_alice.get("/api/v1/titles").json()["count"] == 1
        availability_set(title=arriving, windows=[("", timezone.now() - timedelta(hours=1), None)])
        assert as_alice.get("/api/v1/titles").json()["count"] == 2

    def test_publishing_in_bulk_is_seen_at_once(self, as_alice):
        """titles_set_published (the admin's actions) writes with update(): no post_save."""
        leaving = TitleFactory(name="Leaving")
        TitleFactory(name="Staying")
        assert as_alice.get("/api/v1/titles").json()["count"] == 2
        assert titles_set_published(title_ids=[leaving.pk], published=False) == 1
        assert as_alice.get("/api/v1/titles").json()["count"] == 1
        assert titles_set_published(title_ids=[leaving.pk], published=True) == 1
        assert as_alice.get("/api/v1/titles").json()["count"] == 2

    def test_a_movielens_import_is_seen_at_once(self, as_alice, tmp_path):
        """The import creates titles, genre links and windows in bulk, with no post_save; the
        search index drain it ends with announces them."""
        TitleFactory(name="Already here")
        # its genres exist already, so no Genre save announces anything on the import's behalf
        for name in ("Animation", "Children's", "Comedy", "Drama", "Romance"):
            GenreFactory(name=name)
        assert as_alice.get("/api/v1/titles").json()["count"] == 1
        call_command("import_movielens", str(ml100k(tmp_path)), "--no-progress", stdout=StringIO())
        # u.item's three well-formed movies
        assert as_alice.get("/api/v1/titles").json()["count"] == 1 + 3

    def test_new_artwork_changes_the_cached_detail(self, as_alice):
        title = TitleFactory()
        before = as_alice.get(f"/api/v1/titles/{title.pk}").json()["artwork"]
        Artwork.objects.create(
            title=title, kind="poster", size="md", image="artwork/x.jpg", width=200, height=300
        )
        after = as_alice.get(f"/api/v1/titles/{title.pk}").json()["artwork"]
        assert len(after) == len(before) + 1

    def test_viewers_with_another_maturity_do_not_share_a_body(self, as_alice, alice_kid):
        from tests.catalog.conftest import client_as

        TitleFactory(name="Adult", rating="R")
        TitleFactory(name="Kids", rating="G")
        adult = {t["name"] for t in as_alice.get("/api/v1/titles").json()["results"]}
        kid = client_as(alice_kid.account, alice_kid)
        kids = {t["name"] for t in kid.get("/api/v1/titles").json()["results"]}
        assert adult == {"Adult", "Kids"}
        assert kids == {"Kids"}

    def test_a_profile_changed_to_kids_sees_the_kids_catalogue_on_the_next_request(
        self, as_alice, alice_profile
    ):
        from accounts.services import profile_update

        TitleFactory(name="Adult", rating="R")
        TitleFactory(name="Kids", rating="G")
        before = {t["name"] for t in as_alice.get("/api/v1/titles").json()["results"]}
        profile_update(profile=alice_profile, is_kids=True)  # the remembered profile is stale
        after = {t["name"] for t in as_alice.get("/api/v1/titles").json()["results"]}
        assert (before, after) == ({"Adult", "Kids"}, {"Kids"})

    def test_a_deleted_profile_is_refused_on_the_next_request(
        self, as_alice, alice_profile, alice_kid
    ):
        from accounts.services import profile_delete

        assert as_alice.get("/api/v1/titles").status_code == 200
        profile_delete(profile=alice_profile)
        refused = as_alice.get("/api/v1/titles")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "invalid_profile"

    def test_a_version_bumped_elsewhere_is_not_served_from_this_process_copy(self, as_alice):
        title = TitleFactory(name="Before")
        assert as_alice.get("/api/v1/titles").json()["results"][0]["name"] == "Before"
        Title.objects.filter(pk=title.pk).update(name="After")  # no signal here...
        cache.incr(caching.VERSION_KEY)  # ...another process's bump: only the shared counter
        assert as_alice.get("/api/v1/titles").json()["results"][0]["name"] == "After"

    def test_a_cache_that_lost_the_version_starts_one_no_copy_carries(self, as_alice):
        title = TitleFactory(name="Before")
        cache.delete(caching.VERSION_KEY)  # the request below starts the version
        assert as_alice.get("/api/v1/titles").json()["results"][0]["name"] == "Before"
        Title.objects.filter(pk=title.pk).update(name="After")
        cache.clear()  # Redis restarted: the version starts again (from the clock: a new one)
        assert as_alice.get("/api/v1/titles").json()["results"][0]["name"] == "After"

    def test_a_window_that_closes_soon_bounds_the_fragment_life(self):
        title = TitleFactory()
        Availability.objects.filter(title=title).update(
            ends_at=timezone.now() + timedelta(seconds=30)
        )
        assert 1 <= caching.fragment_ttl() <= 31

    def test_errors_are_not_cached(self, as_alice):
        assert as_alice.get("/api/v1/titles/999999").status_code == 404
        title = TitleFactory()
        found = as_alice.get(f"/api/v1/titles/{title.pk}")
        assert (found.status_code, found.json()["id"]) == (200, title.pk)
        bad = as_alice.get("/api/v1/titles?year_from=abc")
        assert bad.status_code == 400 and "year_from" in bad.json()["error"]["fields"]
        # and the refusal was not stored in place of the list
        assert [t["id"] for t in as_alice.get("/api/v1/titles").json()["results"]] == [title.pk]


@pytest.mark.django_db
class TestPages:
    def test_search_as_you_type_hit_costs_no_query(self, client, alice, alice_profile):
        from catalog.services.search_index import search_index_drain

        for i in range(10):
            TitleFactory(name=f"Harbour {i}")
        search_index_drain()
        signed_in(client, alice, alice_profile)
        url = "/search?q=harb&partial=1"
        first = client.get(url)
        assert first.status_code == 200 and b"Harbour 0" in first.content
        sql = queries(lambda: client.get(url))
        # the session from the cache, its user and the profile remembered by this process
        assert sql == []
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_search_partial_sees_a_renamed_title(self, client, alice, alice_profile):
        from catalog.services.search_index import search_index_drain

        title = TitleFactory(name="Harbour Lights")
        search_index_drain()
        signed_in(client, alice, alice_profile)
        assert b"Harbour Lights" in client.get("/search?q=harb&partial=1").content
        title.name = "Harbour Nights"
        title.save()
        search_index_drain()
        assert b"Harbour Nights" in client.get("/search?q=harb&partial=1").content

    def test_home_shared_shelves_cost_no_query_when_cached(self, client, alice, alice_profile):
        drama = GenreFactory(name="Drama", slug="drama")
        for i in range(12):
            TitleFactory(name=f"Drama {i}", genres=[drama])
        signed_in(client, alice, alice_profile)
        cold = queries(lambda: client.get("/"))
        warm = queries(lambda: client.get("/"))
        catalog_reads = [q for q in warm if '"catalog_title"' in q or "catalog_genre" in q]
        # what is left is personal: session, user, profile, activity, rows
        assert len(warm) < len(cold)
        assert not any("ROW_NUMBER" in q or "COUNT(DISTINCT" in q for q in warm)
        assert len(warm) <= 8, warm
        assert len(catalog_reads) <= 3, catalog_reads

    def test_home_cards_show_a_renamed_title_at_once(self, client, alice, alice_profile):
        title = TitleFactory(name="Old Name")
        signed_in(client, alice, alice_profile)
        assert b"Old Name" in client.get("/").content
        title.name = "New Name"
        title.save()  # the card rendered for "Old Name" is kept under the old version
        page = client.get("/").content
        assert b"New Name" in page and b"Old Name" not in page

    def test_home_sees_a_new_title_at_once(self, client, alice, alice_profile):
        TitleFactory(name="Old One")
        signed_in(client, alice, alice_profile)
        assert b"Old One" in client.get("/").content
        TitleFactory(name="Brand New")
        assert b"Brand New" in client.get("/").content


@pytest.mark.django_db
def test_cache_down_serves_from_the_database(as_alice, dead_cache):
    TitleFactory(name="Still Here")
    for _ in range(2):
        body = as_alice.get("/api/v1/titles").json()
        assert [t["name"] for t in body["results"]] == ["Still Here"]
