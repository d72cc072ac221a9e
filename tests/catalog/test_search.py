"""Search: exact title first, typos, prefix while typing, people and genres, filters, facets."""

from __future__ import annotations

import pytest

from catalog import selectors
from catalog.models import Title
from catalog.selectors import SearchFilters, Viewer
from catalog.services.search_index import search_index_drain, search_index_refresh
from catalog.services.titles import titles_changed
from tests.catalog.factories import CreditFactory, GenreFactory, PersonFactory, TitleFactory

VIEWER = Viewer(country="US", max_maturity=30)


def names(q: str, filters: SearchFilters | None = None) -> list[str]:
    return [t.name for t in selectors.search_titles(VIEWER, q, filters)]


@pytest.fixture
def catalogue(db):
    drama = GenreFactory(name="Drama", slug="drama")
    comedy = GenreFactory(name="Comedy", slug="comedy")
    TitleFactory(name="Night Harbor", year=1998, genres=[drama], view_count=5)
    TitleFactory(
        name="The Night Harbor Returns",
        year=2004,
        genres=[drama],
        view_count=50,
        synopsis="Back to the harbor at night.",
    )
    TitleFactory(name="Harbor Lights", year=2015, genres=[comedy], kind=Title.Kind.SERIES)
    TitleFactory(name="Paper Kingdom", year=2021, genres=[comedy], rating="R")
    marlow = PersonFactory(name="Ada Marlow")
    CreditFactory(title=Title.objects.get(name="Paper Kingdom"), person=marlow)
    search_index_drain()


class TestRanking:
    def test_exact_title_match_ranks_first(self, catalogue):
        assert names("Night Harbor")[0] == "Night Harbor"

    def test_exact_match_beats_a_more_popular_longer_title(self, catalogue):
        assert names("night harbor") == ["Night Harbor", "The Night Harbor Returns"]

    def test_typo_still_finds_the_title(self, catalogue):
        assert names("Paper Kingdon") == ["Paper Kingdom"]

    def test_prefix_while_typing(self, catalogue):
        assert names("Paper Ki") == ["Paper Kingdom"]
        assert set(names("harb")) == {"Night Harbor", "The Night Harbor Returns", "Harbor Lights"}

    def test_person_name_finds_their_titles(self, catalogue):
        assert names("marlow") == ["Paper Kingdom"]

    def test_genre_name_finds_its_titles(self, catalogue):
        assert set(names("comedy")) == {"Harbor Lights", "Paper Kingdom"}

    def test_no_match_is_empty(self, catalogue):
        assert names("xylophone quartz") == []

    def test_empty_query_lists_everything_most_popular_first(self, catalogue):
        assert names("")[:2] == ["The Night Harbor Returns", "Night Harbor"]


class TestFilters:
    def test_genre_kind_and_year_filters(self, catalogue):
        assert names("harbor", SearchFilters(genre="comedy")) == ["Harbor Lights"]
        assert names("harbor", SearchFilters(kind="series")) == ["Harbor Lights"]
        assert names("harbor", SearchFilters(year_from=2000, year_to=2010)) == [
            "The Night Harbor Returns"
        ]

    def test_maturity_filter_narrows_but_never_widens(self, catalogue):
        assert names("paper", SearchFilters(max_maturity=20)) == []
        kid = Viewer(country="US", max_maturity=10)
        found = selectors.search_titles(kid, "paper", SearchFilters(max_maturity=30))
        assert list(found) == []


class TestFacets:
    def test_facet_counts_over_the_results(self, catalogue):
        facets = selectors.search_facets(VIEWER, "harbor")
        assert facets.genres == [("drama", "Drama", 2), ("comedy", "Comedy", 1)]
        assert facets.kinds == {"movie": 2, "series": 1}
        assert facets.decades == {1990: 1, 2000: 1, 2010: 1}
        assert facets.ratings == {"G": 3}

    def test_facets_respect_filters(self, catalogue):
        facets = selectors.search_facets(VIEWER, "", SearchFilters(genre="comedy"))
        assert facets.genres == [("comedy", "Comedy", 2)]
        assert facets.ratings == {"G": 1, "R": 1}


class TestIndexFreshness:
    def test_new_credit_is_searchable_after_the_drain(self, catalogue):
        title = Title.objects.get(name="Harbor Lights")
        CreditFactory(title=title, person=PersonFactory(name="Quincy Vale"))
        titles_changed(title_ids=[title.pk])
        assert names("quincy") == []  # not yet: the drain has not run
        assert search_index_refresh(batch_size=10) == 1
        assert names("quincy") == ["Harbor Lights"]

    def test_drain_works_in_batches(self, db):
        for i in range(5):
            TitleFactory(name=f"Batch {i}")
        assert search_index_refresh(batch_size=2) == 2
        assert search_index_refresh(batch_size=2) == 2
        assert search_index_refresh(batch_size=2) == 1
        assert search_index_refresh(batch_size=2) == 0
        assert Title.objects.filter(search_dirty=True).count() == 0

    def test_saving_a_title_marks_it_dirty(self, catalogue):
        title = Title.objects.get(name="Harbor Lights")
        title.synopsis = "Lighthouse keepers."
        title.save()
        assert list(Title.objects.filter(search_dirty=True)) == [title]
