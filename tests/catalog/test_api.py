"""Catalogue API: shapes, filters, caching headers, bad input, equal query counts."""

from __future__ import annotations

import pytest

from catalog.models import Credit
from catalog.services.search_index import search_index_drain
from tests.catalog.factories import (
    CreditFactory,
    EpisodeFactory,
    GenreFactory,
    PersonFactory,
    SeasonFactory,
    TitleFactory,
)


@pytest.mark.django_db
class TestTitles:
    def test_list_shape(self, as_alice):
        drama = GenreFactory(name="Drama", slug="drama")
        title = TitleFactory(name="Glass Coast", slug="glass-coast", year=2011, genres=[drama])
        body = as_alice.get("/api/v1/titles").json()
        assert body["count"] == 1
        assert body["results"] == [
            {
                "id": title.pk,
                "slug": "glass-coast",
                "name": "Glass Coast",
                "kind": "movie",
                "year": 2011,
                "rating": "G",
                "maturity_level": 10,
                "runtime_minutes": None,
                "genres": ["Drama"],
                "poster_url": "",
                "backdrop_url": "",
            }
        ]

    def test_detail_has_seasons_episodes_and_credits(self, as_alice):
        season = SeasonFactory(title=TitleFactory(name="Tide", kind="series"), number=1)
        episode = EpisodeFactory(season=season, number=1, name="Pilot", intro_start=5, intro_end=65)
        person = PersonFactory(name="Ada Marlow")
        CreditFactory(title=season.title, person=person, character="Captain", order=1)
        CreditFactory(
            title=season.title, person=PersonFactory(name="Lu Chen"), role=Credit.Role.DIRECTOR
        )
        body = as_alice.get(f"/api/v1/titles/{season.title.pk}").json()
        assert body["seasons"] == [
            {
                "number": 1,
                "name": "",
                "episodes": [
                    {
                        "id": episode.pk,
                        "number": 1,
                        "name": "Pilot",
                        "synopsis": "",
                        "runtime_minutes": None,
                        "intro_start": 5,
                        "intro_end": 65,
                        "credits_start": None,
                        "credits_end": None,
                    }
                ],
            }
        ]
        assert [(c["name"], c["role"], c["character"]) for c in body["credits"]] == [
            ("Ada Marlow", "actor", "Captain"),
            ("Lu Chen", "director", ""),
        ]

    def test_filters_and_ordering(self, as_alice):
        TitleFactory(name="Old", year=1990)
        TitleFactory(name="New", year=2020, kind="series")
        TitleFactory(name="Mid", year=2005)
        names = lambda **p: [t["name"] for t in as_alice.get("/api/v1/titles", p).json()["results"]]  # noqa: E731
        assert names(ordering="-year") == ["New", "Mid", "Old"]
        assert names(kind="series") == ["New"]
        assert names(year_from=2000, ordering="year") == ["Mid", "New"]

    def test_bad_filter_is_a_400_with_the_field(self, as_alice):
        response = as_alice.get("/api/v1/titles", {"year_from": "abc", "ordering": "sideways"})
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {"year_from", "ordering"}

    def test_year_range_backwards_is_a_400(self, as_alice):
        response = as_alice.get("/api/v1/titles", {"year_from": 2010, "year_to": 2000})
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"year_to": ["Must not be before year_from."]}

    def test_search_via_the_list(self, as_alice):
        TitleFactory(name="Glass Coast")
        TitleFactory(name="Iron Coast")
        search_index_drain()
        body = as_alice.get("/api/v1/titles", {"q": "glass coast"}).json()
        assert [t["name"] for t in body["results"]] == ["Glass Coast"]

    def test_facets_endpoint(self, as_alice):
        drama = GenreFactory(name="Drama", slug="drama")
        TitleFactory(name="A", genres=[drama], year=1999)
        TitleFactory(name="B", genres=[drama], year=2001, kind="series")
        assert as_alice.get("/api/v1/titles/facets").json() == {
            "genres": [{"slug": "drama", "name": "Drama", "count": 2}],
            "kinds": {"movie": 1, "series": 1},
            "decades": {"1990": 1, "2000": 1},
            "ratings": {"G": 2},
        }

    def test_unknown_title_is_404(self, as_alice):
        response = as_alice.get("/api/v1/titles/999999")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such title."

    def test_anonymous_is_401(self, api):
        response = api.get("/api/v1/titles")
        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "status": 401,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        }


@pytest.mark.django_db
class TestCachingHeaders:
    def test_etag_and_last_modified_then_304(self, as_alice):
        TitleFactory()
        first = as_alice.get("/api/v1/titles")
        assert first.status_code == 200
        assert first["ETag"].startswith('"')
        assert first["Last-Modified"].endswith("GMT")
        again = as_alice.get("/api/v1/titles", HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert again.content == b""

    def test_etag_changes_when_the_catalogue_does(self, as_alice):
        title = TitleFactory(name="Before")
        etag = as_alice.get(f"/api/v1/titles/{title.pk}")["ETag"]
        title.name = "After"
        title.save()
        response = as_alice.get(f"/api/v1/titles/{title.pk}", HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 200
        assert response.json()["name"] == "After"


@pytest.mark.django_db
class TestOtherCatalogueEndpoints:
    def test_genres_count_only_visible_titles(self, as_alice):
        drama = GenreFactory(name="Drama", slug="drama")
        TitleFactory(genres=[drama])
        TitleFactory(genres=[drama], countries=["JP"])
        assert as_alice.get("/api/v1/genres").json() == [
            {"id": drama.pk, "slug": "drama", "name": "Drama", "title_count": 1}
        ]

    def test_person_detail_hides_credits_on_invisible_titles(self, as_alice):
        person = PersonFactory(name="Ada Marlow")
        visible = TitleFactory(name="Seen")
        CreditFactory(title=visible, person=person)
        CreditFactory(title=TitleFactory(name="Hidden", countries=["JP"]), person=person)
        body = as_alice.get(f"/api/v1/people/{person.pk}").json()
        assert [c["title"] for c in body["credits"]] == ["Seen"]

    def test_people_search(self, as_alice):
        PersonFactory(name="Ada Marlow")
        PersonFactory(name="Lu Chen")
        body = as_alice.get("/api/v1/people", {"q": "marl"}).json()
        assert [p["name"] for p in body["results"]] == ["Ada Marlow"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/api/v1/titles", "titles"),
        ("/api/v1/titles?q=title", "titles"),
        ("/api/v1/genres", "genres"),
        ("/api/v1/people", "people"),
    ],
)
def test_list_query_count_is_the_same_for_1_and_50_rows(
    url, make, as_alice, django_assert_num_queries
):
    def build(n: int) -> None:
        for _ in range(n):
            if make == "titles":
                t = TitleFactory(genres=[GenreFactory()])
                CreditFactory(title=t)
            elif make == "genres":
                TitleFactory(genres=[GenreFactory()])
            else:
                PersonFactory()
        search_index_drain()

    build(1)
    as_alice.get(url)  # warm up anything lazy
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert as_alice.get(url, {"page_size": 100}).status_code == 200
    build(49)
    with django_assert_num_queries(len(one.captured_queries)):
        response = as_alice.get(url, {"page_size": 100})
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert len(rows) == 50
