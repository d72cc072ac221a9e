"""Browser pages: home, title page, My List and thumbs forms, search, genre and A-Z, admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Title
from catalog.services.search_index import search_index_drain
from playback.models import MyListEntry, ThumbRating
from tests.catalog.factories import EpisodeFactory, GenreFactory, SeasonFactory, TitleFactory
from tests.clients import browser_client as signed_in


@pytest.mark.django_db
class TestHome:
    def test_signed_out_visitor_gets_the_landing_with_a_popular_row(self, client):
        TitleFactory(name="Glass Coast")
        response = client.get("/")
        assert response.status_code == 200
        assert response.templates[0].name == "catalog/landing.html"
        assert b"Glass Coast" in response.content

    def test_viewer_gets_rows_including_genre_rows(self, alice, alice_profile):
        # New releases and Popular take 12 titles each; the four older, unwatched dramas are
        # left for the Drama row (a title is shown once per page).
        for i in range(24):
            TitleFactory(name=f"Hit {i}", view_count=100 + i)
        drama = GenreFactory(name="Drama", slug="drama")
        year_ago = timezone.now() - timedelta(days=365)
        for i in range(4):
            TitleFactory(name=f"Drama {i}", genres=[drama], released_at=year_ago)
        response = signed_in(alice, alice_profile).get("/")
        assert response.templates[0].name == "catalog/home.html"
        assert [row.genre.name for row in response.context["genre_rows"]] == ["Drama"]
        assert b'href="/genre/drama"' in response.content

    def test_empty_catalogue_shows_a_helpful_empty_state(self, alice, alice_profile):
        response = signed_in(alice, alice_profile).get("/")
        assert b"Nothing to watch here yet" in response.content

    def test_home_query_count_does_not_grow_with_titles(
        self, alice, alice_profile, django_assert_max_num_queries
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = signed_in(alice, alice_profile)
        drama = GenreFactory(name="Drama", slug="drama")
        TitleFactory(genres=[drama])
        client.get("/")
        with CaptureQueriesContext(connection) as one:
            client.get("/")
        for _ in range(49):
            TitleFactory(genres=[GenreFactory()])
        with CaptureQueriesContext(connection) as many:
            client.get("/")
        assert len(many.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
class TestTitlePage:
    def test_shows_synopsis_seasons_and_the_no_video_state(self, client):
        season = SeasonFactory(title=TitleFactory(name="Tide", kind="series", synopsis="Waves."))
        EpisodeFactory(season=season, number=1, name="Pilot")
        response = client.get(f"/title/{season.title.slug}")
        assert response.status_code == 200
        assert b"Waves." in response.content
        assert b"Pilot" in response.content
        assert b"Video not yet available for this title." in response.content

    def test_title_outside_the_viewers_region_is_404(self, alice, alice_profile):
        title = TitleFactory(countries=["JP"], name="Tokyo Only")
        response = signed_in(alice, alice_profile).get(f"/title/{title.slug}")
        assert response.status_code == 404
        assert b"Tokyo Only" not in response.content  # not even its name

    def test_kids_profile_cannot_open_an_adult_title(self, alice, alice_kid):
        title = TitleFactory(rating="R", name="Grown-ups Only")
        response = signed_in(alice, alice_kid).get(f"/title/{title.slug}")
        assert response.status_code == 404
        assert b"Grown-ups Only" not in response.content

    def test_session_profile_of_another_account_is_ignored(self, alice, bob_profile):
        """accounts' request_profile drops a session profile that is not the account's: the
        page renders for the account, with nothing of bob's profile on it."""
        title = TitleFactory()
        MyListEntry.objects.create(profile=bob_profile, title=title)
        response = signed_in(alice, bob_profile).get(f"/title/{title.slug}")
        assert response.status_code == 200
        assert response.context["state"].in_my_list is False


@pytest.mark.django_db
class TestForms:
    def test_my_list_toggle_adds_then_removes(self, alice, alice_profile):
        title = TitleFactory()
        client = signed_in(alice, alice_profile)
        assert client.post(f"/title/{title.slug}/my-list").status_code == 302
        assert list(MyListEntry.objects.values_list("profile_id", "title_id")) == [
            (alice_profile.pk, title.pk)
        ]
        client.post(f"/title/{title.slug}/my-list", {"action": "remove"})
        assert MyListEntry.objects.count() == 0

    def test_rate_and_clear(self, alice, alice_profile):
        title = TitleFactory()
        client = signed_in(alice, alice_profile)
        client.post(f"/title/{title.slug}/rate", {"value": "-1"})
        assert list(ThumbRating.objects.values_list("value", flat=True)) == [-1]
        client.post(f"/title/{title.slug}/rate", {"value": "clear"})
        assert ThumbRating.objects.count() == 0

    def test_bad_rating_changes_nothing(self, alice, alice_profile):
        title = TitleFactory()
        response = signed_in(alice, alice_profile).post(f"/title/{title.slug}/rate", {"value": "9"})
        assert response.status_code == 302
        assert ThumbRating.objects.count() == 0

    def test_anonymous_post_changes_nothing(self, client):
        title = TitleFactory()
        client.post(f"/title/{title.slug}/my-list")
        assert MyListEntry.objects.count() == 0

    def test_get_is_not_allowed(self, alice, alice_profile):
        title = TitleFactory()
        response = signed_in(alice, alice_profile).get(f"/title/{title.slug}/my-list")
        assert (response.status_code, response["Allow"]) == (405, "POST")
        assert MyListEntry.objects.count() == 0


@pytest.mark.django_db
class TestSearchAndBrowse:
    def test_search_page_and_partial_results(self, client):
        TitleFactory(name="Glass Coast")
        TitleFactory(name="Iron Orchard")
        search_index_drain()
        page = client.get("/search", {"q": "glass"})
        assert [t.name for t in page.context["page"].object_list] == ["Glass Coast"]
        partial = client.get("/search", {"q": "orch", "partial": "1"})
        assert partial.templates[0].name == "catalog/_search_results.html"
        assert b"Iron Orchard" in partial.content
        assert b"Glass Coast" not in partial.content

    def test_search_with_garbage_filters_is_still_a_page(self, client):
        TitleFactory(name="Glass Coast")
        response = client.get("/search", {"q": "glass", "year_from": "abc", "kind": "nope"})
        assert response.status_code == 200
        # The filters that make no sense are dropped; the query still finds its title.
        assert [t.name for t in response.context["page"].object_list] == ["Glass Coast"]

    def test_genre_page_and_unknown_genre(self, client):
        drama = GenreFactory(name="Drama", slug="drama")
        TitleFactory(name="In Drama", genres=[drama])
        TitleFactory(name="Elsewhere")
        response = client.get("/genre/drama")
        assert [t.name for t in response.context["page"].object_list] == ["In Drama"]
        assert client.get("/genre/nope").status_code == 404

    def test_a_to_z_with_letters(self, client):
        for name in ["Apple", "Banana", "42 Days", "avocado"]:
            TitleFactory(name=name)

        def names(**p):
            return [t.name for t in client.get("/browse/a-z", p).context["page"].object_list]

        assert names() == ["42 Days", "Apple", "avocado", "Banana"]
        assert names(letter="a") == ["Apple", "avocado"]
        assert names(letter="#") == ["42 Days"]
        assert client.get("/browse/a-z", {"letter": "%"}).status_code == 404


@pytest.mark.django_db
class TestAdmin:
    def test_title_changelist_and_change_page_render(self, staff):
        title = TitleFactory()
        EpisodeFactory(season=SeasonFactory(title=title))
        client = signed_in(staff)
        titles = client.get("/admin/catalog/title/")
        assert (titles.status_code, list(titles.context["cl"].result_list)) == (200, [title])
        change = client.get(f"/admin/catalog/title/{title.pk}/change/")
        assert (change.status_code, change.context["original"]) == (200, title)
        seasons = client.get("/admin/catalog/season/")
        assert seasons.status_code == 200
        assert [s.title_id for s in seasons.context["cl"].result_list] == [title.pk]

    def test_bulk_unpublish_action(self, staff):
        a, b = TitleFactory(), TitleFactory()
        client = signed_in(staff)
        client.post(
            "/admin/catalog/title/",
            {"action": "unpublish", "_selected_action": [a.pk, b.pk]},
        )
        assert list(Title.objects.filter(is_published=True)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/browse/a-z", "/genre/drama", "/search?q=title", "/search"])
def test_list_pages_query_count_is_the_same_for_1_row_and_a_full_page(url, alice, alice_profile):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    drama = GenreFactory(name="Drama", slug="drama")
    client = signed_in(alice, alice_profile)

    def build(n: int) -> None:
        for _ in range(n):
            TitleFactory(genres=[drama])
        search_index_drain()

    build(1)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        first = client.get(url)
    build(47)  # 48 titles: one full page
    client.get(url)  # warm, as the first was: the drain dropped search's cached vocabulary
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(first.context["page"].object_list) == 1
    assert len(response.context["page"].object_list) == 48
    assert len(many.captured_queries) == len(one.captured_queries)
