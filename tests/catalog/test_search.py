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


# --- one typo forgiven per word, on SQLite and PostgreSQL (the same test list) -------------
TYPOS = [
    ("Gardan", "The Secret Garden"),  # a letter changed, the only word
    ("The Secaet Mile", "The Secret Mile"),  # not The Wild Mile, more popular
    ("Nigth Harbor", "Night Harbor"),  # two letters swapped
    ("Papr Kingdom", "Paper Kingdom"),  # a letter dropped
    ("Glasss Coast", "Glass Coast"),  # a letter added
    ("harbour", "Night Harbor"),  # a letter added, lower case
    ("secret gardenn", "The Secret Garden"),
    ("Marlw", "Paper Kingdom"),  # a person's name, a letter dropped
    ("Mile Wlid", "The Wild Mile"),
    ("Kingdon", "Paper Kingdom"),
]


@pytest.fixture
def typo_catalogue(db):
    TitleFactory(name="The Secret Mile", view_count=5)
    TitleFactory(name="The Wild Mile", view_count=90)
    TitleFactory(name="The Secret Garden", view_count=20)
    TitleFactory(name="Night Harbor", view_count=30)
    TitleFactory(name="Paper Kingdom", view_count=1)
    TitleFactory(name="Glass Coast", view_count=40)
    TitleFactory(name="Coast Guard", view_count=60)
    CreditFactory(
        title=Title.objects.get(name="Paper Kingdom"), person=PersonFactory(name="Ada Marlow")
    )
    search_index_drain()


class TestTypos:
    @pytest.mark.parametrize("typed,meant", TYPOS)
    def test_the_intended_title_ranks_first(self, typo_catalogue, typed, meant):
        assert names(typed)[:1] == [meant]

    def test_a_misspelt_word_finds_every_title_with_the_word(self, typo_catalogue):
        assert names("Mlie") == ["The Wild Mile", "The Secret Mile"]  # most popular first

    def test_short_words_and_unknown_words_are_not_corrected(self, typo_catalogue):
        from catalog.selectors.spelling import corrected_words

        assert corrected_words(["thx", "zebra", "gardan", "secre"]) == [
            ["thx"],  # three letters: never corrected
            ["zebra"],  # nothing one edit away
            ["garden"],
            ["secre"],  # the start of a known word: still being typed
        ]
        assert names("Zebra") == []

    def test_edit_distance_counts_a_swap_as_one(self):
        from catalog.selectors.spelling import edit_distance

        assert edit_distance("nigth", "night", 1) == 1
        assert edit_distance("gardan", "garden", 1) == 1
        assert edit_distance("gardan", "garten", 1) == 2  # past the limit: limit + 1
        assert edit_distance("kingdom", "kingdom", 1) == 0
