"""Viewing activity services: progress heartbeats, completion, My List, thumbs, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Title
from playback import selectors as playback_selectors
from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from playback.services import activity
from streamsite.errors import NotFound, ValidationFailed
from tests.catalog.factories import EpisodeFactory, ProfileFactory, SeasonFactory, TitleFactory

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def profile(db):
    return ProfileFactory()


@pytest.fixture
def movie(db):
    return TitleFactory(name="Movie")


def beat(profile, title, position, *, duration=100, at=T0, episode=None):
    return activity.record_progress(
        profile=profile,
        title=title,
        episode=episode,
        position_seconds=position,
        duration_seconds=duration,
        occurred_at=at,
    )


class TestRecordProgress:
    def test_heartbeat_creates_progress_and_an_event(self, profile, movie):
        row = beat(profile, movie, 600, duration=6000)
        assert (row.position_seconds, row.duration_seconds, row.completed) == (600, 6000, False)
        assert list(ViewingEvent.objects.values_list("event_type", "position_seconds")) == [
            ("progress", 600)
        ]

    def test_older_heartbeat_never_overwrites_a_newer_one(self, profile, movie):
        beat(profile, movie, 900, duration=6000, at=T0 + timedelta(seconds=30))
        row = beat(profile, movie, 300, duration=6000, at=T0)
        assert row.position_seconds == 900
        assert row.last_event_at == T0 + timedelta(seconds=30)
        assert Progress.objects.count() == 1
        assert ViewingEvent.objects.count() == 2  # the log keeps both

    def test_completed_at_ninety_percent(self, profile, movie):
        assert beat(profile, movie, 899, duration=1000).completed is False
        at = beat(profile, movie, 900, duration=1000, at=T0 + timedelta(seconds=1))
        assert at.completed is True
        assert ViewingEvent.objects.filter(event_type="complete").count() == 1

    def test_completed_past_the_credits_marker(self, profile):
        episode = EpisodeFactory(credits_start=1200)
        row = beat(profile, episode.season.title, 1200, duration=1500, episode=episode)
        assert row.completed is True

    def test_episode_of_another_title_is_refused(self, profile, movie):
        with pytest.raises(ValidationFailed):
            beat(profile, movie, 1, episode=EpisodeFactory())
        assert Progress.objects.count() == 0

    def test_zero_duration_is_refused(self, profile, movie):
        with pytest.raises(ValidationFailed, match="duration must be positive"):
            beat(profile, movie, 0, duration=0)

    def test_title_not_visible_to_the_profile_is_not_found(self, profile):
        hidden = TitleFactory(countries=["JP"])
        with pytest.raises(NotFound):
            beat(profile, hidden, 1)
        assert ViewingEvent.objects.count() == 0


class TestMyListAndRatings:
    def test_my_list_add_twice_keeps_one_entry(self, profile, movie):
        first = activity.my_list_add(profile=profile, title=movie)
        second = activity.my_list_add(profile=profile, title=movie)
        assert first.pk == second.pk
        assert MyListEntry.objects.count() == 1

    def test_my_list_remove(self, profile, movie):
        activity.my_list_add(profile=profile, title=movie)
        assert activity.my_list_remove(profile=profile, title=movie) is True
        assert activity.my_list_remove(profile=profile, title=movie) is False

    def test_rating_again_replaces(self, profile, movie):
        activity.rate(profile=profile, title=movie, value=1)
        activity.rate(profile=profile, title=movie, value=-1)
        assert list(ThumbRating.objects.values_list("value", flat=True)) == [-1]

    def test_rating_must_be_plus_or_minus_one(self, profile, movie):
        with pytest.raises(ValidationFailed):
            activity.rate(profile=profile, title=movie, value=5)
        assert ThumbRating.objects.count() == 0

    def test_popularity_counts_completions_and_thumbs_up(self, profile, movie):
        beat(profile, movie, 95)
        activity.rate(profile=ProfileFactory(), title=movie, value=1)
        activity.rate(profile=profile, title=movie, value=-1)
        assert activity.popularity_refresh() == 1
        assert Title.objects.get(pk=movie.pk).view_count == 2


class TestHistorySelectors:
    def test_continue_watching_is_unfinished_by_recency_one_per_title(self, profile):
        a, b, done = TitleFactory(name="A"), TitleFactory(name="B"), TitleFactory(name="Done")
        s = SeasonFactory(title=TitleFactory(name="Series", kind="series"))
        e1, e2 = EpisodeFactory(season=s, number=1), EpisodeFactory(season=s, number=2)
        plan = [(a, None, 10), (b, None, 10), (done, None, 100), (s.title, e1, 5), (s.title, e2, 7)]
        for i, (title, ep, pos) in enumerate(plan):
            beat(profile, title, pos, episode=ep, at=T0 + timedelta(minutes=i))
        rows = playback_selectors.continue_watching(profile)
        assert [(r.title.name, r.episode_id) for r in rows] == [
            ("Series", e2.pk),
            ("B", None),
            ("A", None),
        ]

    def test_next_episode_walks_through_the_seasons(self, profile):
        s1 = SeasonFactory(number=1)
        s2 = SeasonFactory(title=s1.title, number=2)
        e1 = EpisodeFactory(season=s1, number=1)
        e2 = EpisodeFactory(season=s2, number=1)
        series = s1.title
        assert playback_selectors.next_episode(profile, series) == e1
        beat(profile, series, 50, episode=e1)
        assert playback_selectors.next_episode(profile, series) == e1
        beat(profile, series, 100, episode=e1, at=T0 + timedelta(seconds=5))
        assert playback_selectors.next_episode(profile, series) == e2
        beat(profile, series, 100, episode=e2, at=T0 + timedelta(seconds=9))
        assert playback_selectors.next_episode(profile, series) is None

    def test_history_delete_removes_that_title_only(self, profile, movie):
        other = TitleFactory(name="Other")
        beat(profile, movie, 5)
        beat(profile, other, 5)
        assert activity.history_delete(profile=profile, title=movie) == 1
        assert [e.title.name for e in playback_selectors.history(profile)] == ["Other"]
        assert list(Progress.objects.values_list("title__name", flat=True)) == ["Other"]

    def test_history_hides_titles_no_longer_available(self, profile, movie):
        beat(profile, movie, 5)
        movie.availabilities.all().delete()
        assert list(playback_selectors.history(profile)) == []
        assert playback_selectors.continue_watching(profile) == []
