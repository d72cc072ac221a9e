"""The catalogue's demand for CDN warming: recorded plays plus launches opening by tomorrow."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Availability
from cdn.models import SteeringDecision
from media import cdn_demand
from media.models import MediaAsset
from tests.catalog.factories import EpisodeFactory, TitleFactory
from tests.cdn.factories import SiteFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 5, tzinfo=UTC)


def served(title=None, episode=None, key=None):
    asset = MediaAsset.objects.create(title=title, episode=episode, status="ready")
    MediaAsset.objects.filter(pk=asset.pk).update(
        ready_version=1, content_key=key or f"hls/{asset.uuid}/v1"
    )
    return (key or f"hls/{asset.uuid}/v1").rstrip("/") + "/"


def launch(title, *, at, country=""):
    Availability.objects.filter(title=title).delete()
    Availability.objects.create(title=title, country=country, starts_at=at)


def play(site, key, at):
    SteeringDecision.objects.create(
        created_at=at,
        client_ip="192.0.2.1",
        content_key=key,
        located_by="coverage_zone",
        site_name=site.name,
        urls=[],
        edges=[],
    )


def test_a_launch_opening_before_tomorrow_is_in_every_site_of_its_country():
    us = SiteFactory(name="nyc", country="US")
    SiteFactory(name="fra", country="DE")
    old = TitleFactory()
    old_key = served(old)
    play(us, old_key, NOW - timedelta(hours=3))
    movie, us_only, later = TitleFactory(), TitleFactory(), TitleFactory()
    movie_key, us_key, later_key = served(movie), served(us_only), served(later)
    launch(movie, at=NOW + timedelta(hours=3))
    launch(us_only, at=NOW + timedelta(hours=3), country="US")
    launch(later, at=NOW + timedelta(days=3))

    demand = cdn_demand.demand(now=NOW)

    assert set(demand["nyc"]) == {old_key, movie_key, us_key}
    assert set(demand["fra"]) == {movie_key}
    assert later_key not in demand["nyc"]
    # No earlier launch to learn from: a launch ranks with the region's top title.
    assert demand["nyc"][movie_key] == demand["nyc"][us_key] == demand["nyc"][old_key]


def test_every_episode_of_a_launching_series_is_scheduled():
    SiteFactory(name="nyc", country="US")
    first = EpisodeFactory()
    second = EpisodeFactory(season=first.season)
    keys = {served(episode=first), served(episode=second)}
    launch(first.season.title, at=NOW + timedelta(hours=1))

    schedule = cdn_demand.release_schedule(now=NOW)

    assert set(schedule[""]) == keys
    assert set(schedule[""].values()) == {(NOW + timedelta(hours=1)).timestamp()}


def test_the_prior_is_learned_from_earlier_launches_and_never_from_later_plays():
    nyc = SiteFactory(name="nyc", country="US")
    earlier, upcoming = TitleFactory(), TitleFactory()
    earlier_key, upcoming_key = served(earlier), served(upcoming)
    launch(earlier, at=NOW - timedelta(days=3))
    launch(upcoming, at=NOW + timedelta(hours=2))
    for hour in range(4):  # four first-day plays of the earlier launch
        play(nyc, earlier_key, NOW - timedelta(days=3) + timedelta(hours=hour))
    before = cdn_demand.demand(now=NOW)["nyc"][upcoming_key]
    for minute in range(50):  # plays after `now` must change nothing
        play(nyc, upcoming_key, NOW + timedelta(hours=3, minutes=minute))

    assert before == pytest.approx(4.0)
    assert cdn_demand.demand(now=NOW)["nyc"][upcoming_key] == before


def test_it_is_the_default_provider():
    from cdn.warming import demand_provider

    assert demand_provider() is cdn_demand.demand
