"""Viewer pages wired to the other apps: landing with billing's plans, Play/Resume on the title
page, recommendation rows from CATALOG_HOME_ROWS_PROVIDER, the kids home."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playback.models import Progress, ViewingEvent
from playback.services import activity
from tests.catalog import rows as provided
from tests.catalog.factories import EpisodeFactory, GenreFactory, SeasonFactory, TitleFactory
from tests.clients import browser_client as signed_in
from tests.playback.sessions.conftest import write_fake_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


class TestLanding:
    def test_signed_out_landing_offers_sign_up_the_accounts_sign_in_and_the_plans(self, client):
        response = client.get("/")
        text = response.content.decode()
        assert response.templates[0].name == "catalog/landing.html"
        assert 'href="/signup/">Sign up</a>' in text
        assert 'href="/login/">Sign in</a>' in text
        assert "/admin/login/" not in text
        assert [p.code for p in response.context["plans"]] == ["basic", "standard", "premium"]
        for name, price in [("Basic", "$7.99"), ("Standard", "$15.49"), ("Premium", "$22.99")]:
            assert f"<h3>{name}</h3>" in text
            assert f"<strong>{price}</strong> a month" in text
        assert "1 screen at a time" in text
        assert "Up to 2160p" in text

    def test_landing_query_count_is_the_same_for_one_or_many_titles(self, client):
        TitleFactory()
        client.get("/")
        with CaptureQueriesContext(connection) as one:
            client.get("/")
        for _ in range(20):
            TitleFactory()
        with CaptureQueriesContext(connection) as many:
            client.get("/")
        assert len(many.captured_queries) == len(one.captured_queries)


class TestPlayButton:
    def test_movie_with_a_video_links_play_to_the_watch_page(
        self, alice, alice_profile, media_root
    ):
        title = TitleFactory(name="Reel")
        write_fake_asset(media_root, f"title-{title.pk}")
        text = signed_in(alice, alice_profile).get(f"/title/{title.slug}").content.decode()
        assert f'<a class="button" href="/watch/{title.pk}/" id="play-button">▶ Play</a>' in text
        assert "Video not yet available" not in text

    def test_movie_without_a_video_says_so(self, alice, alice_profile, media_root):
        title = TitleFactory(name="Reel")
        text = signed_in(alice, alice_profile).get(f"/title/{title.slug}").content.decode()
        assert "Video not yet available for this title." in text
        assert "/watch/" not in text

    def test_resume_shows_where_the_profile_stopped(self, alice, alice_profile, media_root):
        title = TitleFactory(name="Reel")
        write_fake_asset(media_root, f"title-{title.pk}")
        activity.record_progress(
            profile=alice_profile, title=title, position_seconds=321, duration_seconds=600,
            occurred_at=timezone.now(),
        )  # fmt: skip
        text = signed_in(alice, alice_profile).get(f"/title/{title.slug}").content.decode()
        assert "▶ Resume</a>" in text
        assert "You stopped at 5:21" in text
        assert '<progress class="progress inline" max="100" value="54"' in text

    def test_series_resumes_the_unfinished_episode(self, alice, alice_profile, media_root):
        season = SeasonFactory(title=TitleFactory(name="Tide", kind="series"), number=1)
        EpisodeFactory(season=season, number=1)
        second = EpisodeFactory(season=season, number=2)
        write_fake_asset(media_root, f"episode-{second.pk}")
        activity.record_progress(
            profile=alice_profile, title=season.title, episode=second, position_seconds=75,
            duration_seconds=1500, occurred_at=timezone.now() - timedelta(minutes=1),
        )  # fmt: skip
        text = signed_in(alice, alice_profile).get(f"/title/{season.title.slug}").content.decode()
        assert f'href="/watch/{season.title.pk}/episode/{second.pk}/"' in text
        actions = text[text.index('<div class="actions">') :][:700]
        assert "▶ Resume S1:E2</a>" in actions, actions
        assert "You stopped at 1:15" in text


@pytest.fixture
def provider(settings):
    settings.CATALOG_HOME_ROWS_PROVIDER = provided.PATH
    settings.CATALOG_HOME_ROW_MIN_TITLES = 1  # these rows are about order and visibility
    provided.ROWS.clear()
    yield provided.ROWS
    provided.ROWS.clear()


class TestRecommendedRows:
    def test_rows_keep_the_providers_order_and_drop_titles_the_profile_may_not_see(
        self, alice, alice_profile, provider
    ):
        a, b, c = (
            TitleFactory(name="Alpha"),
            TitleFactory(name="Bravo"),
            TitleFactory(name="Charlie"),
        )
        hidden = TitleFactory(name="Hidden", countries=[])
        provider.append(
            provided.Row(
                "because",
                "Because you watched Alpha",
                [c.pk, hidden.pk, a.pk],
                {c.pk: "Same director"},
            )
        )
        provider.append(provided.Row("empty", "Nothing left", [hidden.pk]))
        response = signed_in(alice, alice_profile).get("/")
        rows = response.context["recommended_rows"]
        assert [(r.key, [t.name for t in r.titles]) for r in rows] == [
            ("because", ["Charlie", "Alpha"])
        ]
        text = response.content.decode()
        assert '<h2 id="row-because">Because you watched Alpha</h2>' in text
        assert '<p class="why muted">Same director</p>' in text
        assert "Nothing left" not in text
        assert b.name not in [t.name for t in rows[0].titles]

    def test_unset_provider_adds_no_rows(self, alice, alice_profile, settings):
        settings.CATALOG_HOME_ROWS_PROVIDER = ""
        TitleFactory()
        assert signed_in(alice, alice_profile).get("/").context["recommended_rows"] == []

    def test_rows_cost_the_same_queries_for_one_or_many_titles_and_rows(
        self, alice, alice_profile, provider
    ):
        client = signed_in(alice, alice_profile)
        first = TitleFactory()
        provider.append(provided.Row("one", "One", [first.pk]))
        client.get("/")
        with CaptureQueriesContext(connection) as one:
            client.get("/")
        more = [TitleFactory().pk for _ in range(30)]
        provider.append(provided.Row("two", "Two", more[:15]))
        provider.append(provided.Row("three", "Three", more[15:]))
        with CaptureQueriesContext(connection) as many:
            response = client.get("/")
        assert [len(r.titles) for r in response.context["recommended_rows"]] == [1, 15, 15]
        assert len(many.captured_queries) == len(one.captured_queries)


class TestKidsHome:
    def test_kids_profile_gets_no_genre_shelves(self, alice, alice_kid):
        drama = GenreFactory(name="Drama", slug="drama")
        for _ in range(3):
            TitleFactory(genres=[drama], rating="TV-Y")
        response = signed_in(alice, alice_kid).get("/")
        assert response.context["kids"] is True
        assert response.context["genre_rows"] == []

    def test_adult_profile_gets_genre_shelves(self, alice, alice_profile):
        for i in range(24):  # New releases and Popular take 12 each; the dramas are left
            TitleFactory(view_count=100 + i)
        drama = GenreFactory(name="Drama", slug="drama")
        for _ in range(4):
            TitleFactory(genres=[drama], released_at=timezone.now() - timedelta(days=365))
        response = signed_in(alice, alice_profile).get("/")
        assert [r.genre.name for r in response.context["genre_rows"]] == ["Drama"]


class TestHistoryPage:
    def watch(self, profile, title, position=120):
        activity.record_progress(
            profile=profile, title=title, position_seconds=position, duration_seconds=600,
            occurred_at=timezone.now(),
        )  # fmt: skip

    def test_lists_one_row_per_title_newest_first_and_removes_one(self, alice, alice_profile):
        older, newer = TitleFactory(name="Older"), TitleFactory(name="Newer")
        self.watch(alice_profile, older)
        self.watch(alice_profile, newer, 590)
        client = signed_in(alice, alice_profile)
        response = client.get("/history")
        assert [r.title.name for r in response.context["rows"]] == ["Newer", "Older"]
        text = response.content.decode()
        assert "20% watched" in text
        assert "Watched</span>" in text
        removed = client.post(f"/history/{older.slug}/remove")
        assert (removed.status_code, removed["Location"]) == (302, "/history")
        assert [r.title.name for r in client.get("/history").context["rows"]] == ["Newer"]

    def test_empty_history_says_what_will_appear(self, alice, alice_profile):
        text = signed_in(alice, alice_profile).get("/history").content.decode()
        assert "Nothing watched yet" in text

    def test_anonymous_goes_to_sign_in_and_removes_nothing(self, client, alice_profile):
        title = TitleFactory()
        self.watch(alice_profile, title)
        assert client.get("/history")["Location"] == "/login/?next=/history"
        assert client.post(f"/history/{title.slug}/remove").status_code == 302
        assert Progress.objects.count() == 1

    def test_no_profile_chosen_goes_to_the_picker(self, alice, alice_profile):
        response = signed_in(alice).get("/history")
        assert response["Location"] == "/profiles/?next=/history"

    def test_another_profile_or_account_or_staff_removes_nothing_of_alices(
        self, alice, bob, staff, alice_profile, alice_kid, bob_profile
    ):
        title = TitleFactory(rating="TV-Y")
        self.watch(alice_profile, title)
        from accounts.models import Profile

        staff_profile = Profile.objects.create(account=staff, name="Staff")
        for user, profile in [(alice, alice_kid), (bob, bob_profile), (staff, staff_profile)]:
            client = signed_in(user, profile)
            assert client.get("/history").context["rows"] == []
            assert client.post(f"/history/{title.slug}/remove").status_code == 302
        assert list(Progress.objects.values_list("profile_id", flat=True)) == [alice_profile.pk]
        assert ViewingEvent.objects.filter(profile=alice_profile).count() == 1

    def test_query_count_is_the_same_for_one_or_many_titles(self, alice, alice_profile):
        client = signed_in(alice, alice_profile)
        self.watch(alice_profile, TitleFactory())
        client.get("/history")
        with CaptureQueriesContext(connection) as one:
            client.get("/history")
        for _ in range(15):
            self.watch(alice_profile, TitleFactory())
        with CaptureQueriesContext(connection) as many:
            response = client.get("/history")
        assert len(response.context["rows"]) == 16
        assert len(many.captured_queries) == len(one.captured_queries)
