"""The home page shows each title once: Continue Watching and My List win, then personal rows,
then editorial rows; a row left shorter than a screenful is dropped. The hero has Play/Resume."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from PIL import Image

from catalog.selectors.home_rows import ROW_MIN_TITLES, HomeRow, home_rows_assemble
from catalog.selectors.titles import GenreRow
from catalog.services.artwork import artwork_store
from playback.services import activity
from tests.catalog import rows as provided
from tests.catalog.factories import GenreFactory, TitleFactory
from tests.catalog.test_viewer_pages import signed_in
from tests.playback.sessions.conftest import write_fake_asset


def t(pk: int) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, name=f"T{pk}")


def ids(titles) -> list[int]:
    return [x.pk for x in titles]


class TestAssemble:
    def test_precedence_and_order_with_exact_rows(self):
        page = home_rows_assemble(
            continue_watching=[SimpleNamespace(title=t(1)), SimpleNamespace(title=t(2))],
            my_list=[t(2), t(3)],
            recommended_rows=[
                HomeRow("because", "Because", [t(3), t(4), t(5), t(6), t(7)]),
                HomeRow("short", "Short after dedup", [t(1), t(4), t(8), t(9), t(10)]),
            ],
            new_releases=[t(8), t(9), t(10), t(11), t(4)],
            popular=[t(1), t(2), t(12), t(13), t(14)],
            genre_rows=[GenreRow(genre="Drama", titles=[t(12), t(15), t(16), t(17), t(18)])],
            min_titles=4,
        )
        assert [ids([e.title]) for e in page.continue_watching] == [[1], [2]]
        assert ids(page.my_list) == [3]  # 2 is already in Continue Watching
        # "because" keeps 4, 5, 6, 7; "short" is left with 8, 9, 10 (< 4) and is dropped, so
        # New releases may still show 8, 9, 10.
        assert [(r.key, ids(r.titles)) for r in page.recommended_rows] == [
            ("because", [4, 5, 6, 7])
        ]
        assert ids(page.new_releases) == [8, 9, 10, 11]
        assert page.popular == []  # 12, 13, 14 only: fewer than a screenful
        assert [(r.genre, ids(r.titles)) for r in page.genre_rows] == [
            ("Drama", [12, 15, 16, 17, 18])
        ]
        shown = [e.title.pk for e in page.continue_watching] + ids(page.my_list)
        for row in [*page.recommended_rows, *page.genre_rows]:
            shown += ids(row.titles)
        shown += ids(page.new_releases) + ids(page.popular)
        assert len(shown) == len(set(shown)) == 16

    def test_continue_watching_and_my_list_show_even_one_title(self):
        page = home_rows_assemble(
            continue_watching=[SimpleNamespace(title=t(1))],
            my_list=[t(9)],
            recommended_rows=[],
            new_releases=[],
            popular=[],
            genre_rows=[],
        )
        assert ids(page.my_list) == [9] and len(page.continue_watching) == 1

    def test_a_small_catalogue_still_gets_one_row(self):
        page = home_rows_assemble(
            continue_watching=[],
            my_list=[],
            recommended_rows=[HomeRow("few", "Few", [t(1), t(2)])],
            new_releases=[t(1), t(2), t(3)],
            popular=[t(3), t(2), t(1)],
            genre_rows=[],
        )
        assert (page.recommended_rows, ids(page.new_releases), page.popular) == ([], [1, 2, 3], [])

    def test_a_screenful_is_four(self):
        assert ROW_MIN_TITLES == 4


@pytest.fixture
def provider(settings):
    settings.CATALOG_HOME_ROWS_PROVIDER = provided.PATH
    provided.ROWS.clear()
    yield provided.ROWS
    provided.ROWS.clear()


def card_slugs(html: str) -> list[str]:
    return re.findall(r'<a class="card" href="/title/([^"]+)"', html)


@pytest.mark.django_db
class TestHomePage:
    def test_no_title_repeats_across_rows(self, alice, alice_profile, provider, settings):
        drama = GenreFactory(name="Drama", slug="drama")
        old = timezone.now() - timedelta(days=400)
        titles = [
            TitleFactory(name=f"Film {i:02d}", view_count=i, genres=[drama], released_at=old)
            for i in range(40)
        ]
        watched, saved = titles[0], titles[1]
        activity.record_progress(
            profile=alice_profile, title=watched, position_seconds=60, duration_seconds=600,
            occurred_at=timezone.now(),
        )  # fmt: skip
        activity.my_list_add(profile=alice_profile, title=saved)
        provider.append(provided.Row("because", "Because you liked", [t.pk for t in titles[:10]]))
        html = signed_in(alice, alice_profile).get("/").content.decode()
        slugs = card_slugs(html)
        assert len(slugs) == len(set(slugs))
        # Continue Watching, My List, the personal row without those two, New releases (12,
        # newest first: all share a date, so by id), Popular (its 12 are all shown already:
        # dropped), then Drama's top 16 by views less the 12 shown: 4 left, a screenful.
        expected = [watched, saved, *titles[2:10], *titles[39:27:-1], *titles[27:23:-1]]
        assert slugs == [t.slug for t in expected]
        assert "Popular on Streamsite" not in html
        assert '<h2 id="row-because">Because you liked</h2>' in html

    def test_rows_shorter_than_a_screenful_are_dropped(self, alice, alice_profile, provider):
        titles = [TitleFactory(view_count=i) for i in range(6)]
        provider.append(provided.Row("few", "Too few", [t.pk for t in titles[:3]]))
        response = signed_in(alice, alice_profile).get("/")
        assert response.context["recommended_rows"] == []
        assert "Too few" not in response.content.decode()
        # New releases shows all six (the personal row claimed none); Popular has none left.
        assert len(response.context["new_releases"]) == 6
        assert response.context["popular"] == []

    def test_hero_plays_or_resumes(self, alice, alice_profile, settings, tmp_path):
        hero = TitleFactory(name="Glass Coast", view_count=999)
        settings.MEDIA_ROOT = tmp_path / "media"
        artwork_store(title=hero, kind="backdrop", image=Image.new("RGB", (32, 18)))
        client = signed_in(alice, alice_profile)
        assert 'id="hero-play"' not in client.get("/").content.decode()  # no video yet
        write_fake_asset(settings.MEDIA_ROOT, f"title-{hero.pk}")
        html = client.get("/").content.decode()
        assert f'<a class="button" id="hero-play" href="/watch/{hero.pk}/">▶ Play</a>' in html
        assert '<img class="backdrop" src="' in html and "style=" not in html
        activity.record_progress(
            profile=alice_profile, title=hero, position_seconds=60, duration_seconds=600,
            occurred_at=timezone.now(),
        )  # fmt: skip
        html = client.get("/").content.decode()
        assert f'<a class="button" id="hero-play" href="/watch/{hero.pk}/">▶ Resume</a>' in html
        assert '<progress class="progress" max="600" value="60"' in html
