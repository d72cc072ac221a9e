"""Region, maturity and published rules: one selector, enforced on browse, search, detail and API.

Example-based tests pin each rule; a property test checks them together on random catalogues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Maturity
from catalog import selectors
from catalog.models import Availability, Title
from catalog.selectors import Viewer
from catalog.services.search_index import search_index_drain
from streamsite.errors import NotFound
from tests.catalog.conftest import client_as
from tests.catalog.factories import GenreFactory, ProfileFactory, TitleFactory
from tests.factories import UserFactory

US_ADULT = Viewer(country="US", max_maturity=Maturity.ADULTS)


def visible_ids(viewer: Viewer) -> set[int]:
    return set(selectors.titles_for_viewer(viewer).values_list("pk", flat=True))


@pytest.mark.django_db
class TestAvailabilityRule:
    def test_title_with_a_window_everywhere_is_visible_in_any_country(self):
        title = TitleFactory()
        assert visible_ids(Viewer(country="BR", max_maturity=30)) == {title.pk}

    def test_country_window_shows_only_in_that_country(self):
        title = TitleFactory(countries=["GB"])
        assert visible_ids(Viewer(country="GB", max_maturity=30)) == {title.pk}
        assert visible_ids(US_ADULT) == set()

    def test_window_not_yet_open_hides_the_title(self):
        title = TitleFactory(countries=[])
        Availability.objects.create(
            title=title, country="US", starts_at=timezone.now() + timedelta(hours=1)
        )
        assert visible_ids(US_ADULT) == set()

    def test_window_that_ended_hides_the_title(self):
        title = TitleFactory(countries=[])
        now = timezone.now()
        Availability.objects.create(
            title=title, country="US", starts_at=now - timedelta(days=9), ends_at=now
        )
        assert visible_ids(US_ADULT) == set()

    def test_window_end_is_exclusive_and_start_inclusive(self):
        title = TitleFactory(countries=[])
        now = timezone.now()
        Availability.objects.create(
            title=title, country="US", starts_at=now, ends_at=now + timedelta(days=1)
        )
        qs = selectors.available_titles(country="US", max_maturity=30, now=now)
        assert list(qs.values_list("pk", flat=True)) == [title.pk]
        later = selectors.available_titles(
            country="US", max_maturity=30, now=now + timedelta(days=1)
        )
        assert list(later) == []

    def test_title_with_no_window_is_invisible(self):
        TitleFactory(countries=[])
        assert visible_ids(US_ADULT) == set()

    def test_unpublished_title_is_invisible(self):
        TitleFactory(is_published=False)
        assert visible_ids(US_ADULT) == set()

    def test_two_windows_do_not_duplicate_the_title(self):
        title = TitleFactory(countries=["US", ""])
        assert list(selectors.titles_for_viewer(US_ADULT).values_list("pk", flat=True)) == [
            title.pk
        ]


@pytest.mark.django_db
class TestMaturityRule:
    @pytest.mark.parametrize(
        ("maturity", "expected"),
        [
            (Maturity.KIDS, {"G", "TV-Y"}),
            (Maturity.TEENS, {"G", "TV-Y", "PG-13", "TV-14"}),
            (Maturity.ADULTS, {"G", "TV-Y", "PG-13", "TV-14", "R", "TV-MA", "NR"}),
        ],
    )
    def test_profile_sees_ratings_up_to_its_maturity(self, maturity, expected):
        for rating in ["G", "TV-Y", "PG-13", "TV-14", "R", "TV-MA", "NR"]:
            TitleFactory(rating=rating, name=rating)
        profile = ProfileFactory(maturity=maturity)
        seen = set(selectors.titles_for_profile(profile).values_list("rating", flat=True))
        assert seen == expected

    def test_maturity_level_follows_the_rating_on_save(self):
        title = TitleFactory(rating="G")
        assert title.maturity_level == 10
        title.rating = "R"
        title.save(update_fields=["rating"])
        title.refresh_from_db()
        assert title.maturity_level == 30

    def test_profile_country_comes_from_the_account(self):
        title = TitleFactory(countries=["DE"])
        german = ProfileFactory(account=UserFactory(country="DE"))
        default = ProfileFactory(account=UserFactory(country=""))
        assert list(selectors.titles_for_profile(german)) == [title]
        assert list(selectors.titles_for_profile(default)) == []

    def test_account_without_country_uses_default_country(self, settings):
        settings.DEFAULT_COUNTRY = "FR"
        title = TitleFactory(countries=["FR"])
        profile = ProfileFactory(account=UserFactory(country=""))
        assert list(selectors.titles_for_profile(profile)) == [title]


# --- property: the rule holds on every surface --------------------------------------------------

COUNTRIES = ["US", "GB", "DE"]
RATINGS = ["TV-Y", "G", "PG", "PG-13", "TV-14", "R", "TV-MA", "NR"]
LEVEL = {"TV-Y": 10, "G": 10, "PG": 20, "PG-13": 20, "TV-14": 20, "R": 30, "TV-MA": 30, "NR": 30}

window = st.tuples(
    st.sampled_from(["", *COUNTRIES]),
    st.integers(min_value=-5, max_value=5),  # start, days from now
    st.one_of(st.none(), st.integers(min_value=1, max_value=6)),  # length in days, or open
)
title_spec = st.tuples(
    st.booleans(), st.sampled_from(RATINGS), st.lists(window, min_size=0, max_size=3)
)


def expected_visible(specs, country: str, maturity: int, now) -> set[int]:
    ids = set()
    for pk, (published, rating, windows) in specs.items():
        if not published or LEVEL[rating] > maturity:
            continue
        for code, start, length in windows:
            starts = now + timedelta(days=start)
            ends = None if length is None else starts + timedelta(days=length)
            if code in ("", country) and starts <= now and (ends is None or now < ends):
                ids.add(pk)
                break
    return ids


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    catalogue=st.lists(title_spec, min_size=1, max_size=6),
    country=st.sampled_from(COUNTRIES),
    maturity=st.sampled_from([10, 20, 30]),
)
def test_region_and_maturity_hold_across_browse_search_detail_and_api(catalogue, country, maturity):
    now = timezone.now()
    with transaction.atomic():
        genre = GenreFactory(name="Drama", slug="drama")
        specs = {}
        for i, (published, rating, windows) in enumerate(catalogue):
            title = TitleFactory(
                name=f"Zebra {i}",
                slug=f"zebra-{i}",
                is_published=published,
                rating=rating,
                countries=[],
                genres=[genre],
            )
            for code, start, length in windows:
                starts = now + timedelta(days=start)
                Availability.objects.create(
                    title=title,
                    country=code,
                    starts_at=starts,
                    ends_at=None if length is None else starts + timedelta(days=length),
                )
            specs[title.pk] = (published, rating, windows)
        search_index_drain()
        user = UserFactory(country=country)
        profile = ProfileFactory(account=user, maturity=maturity)
        viewer = selectors.viewer_for_profile(profile)
        expected = expected_visible(specs, country, maturity, now)

        # the selector
        assert visible_ids(viewer) == expected
        # browse: A-Z, genre page, genre rows, new releases
        assert {t.pk for t in selectors.titles_a_to_z(viewer)} == expected
        assert {t.pk for t in selectors.titles_in_genre(viewer, genre)} == expected
        rows = selectors.genre_rows(viewer, per_row=50)
        assert {t.pk for row in rows for t in row.titles} == expected
        assert {t.pk for t in selectors.new_releases(viewer, limit=50)} == expected
        # search: a word every title has
        assert {t.pk for t in selectors.search_titles(viewer, "zebra")} == expected
        # detail
        for pk in specs:
            if pk in expected:
                assert selectors.title_detail(viewer, pk=pk).pk == pk
            else:
                with pytest.raises(NotFound):
                    selectors.title_detail(viewer, pk=pk)
        # API: list, search and detail
        client = client_as(user, profile)
        listed = client.get("/api/v1/titles", {"page_size": 100}).json()["results"]
        assert {t["id"] for t in listed} == expected
        found = client.get("/api/v1/titles", {"q": "zebr", "page_size": 100}).json()["results"]
        assert {t["id"] for t in found} == expected
        for pk in specs:
            status = client.get(f"/api/v1/titles/{pk}").status_code
            assert status == (200 if pk in expected else 404)
        transaction.set_rollback(True)
    assert Title.objects.count() == 0
