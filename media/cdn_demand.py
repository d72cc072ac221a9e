"""What the catalogue tells the CDN's warming: recorded plays plus the release schedule.

The cdn app knows content keys and sites, not titles. Its fill plans each site from a demand
provider (CDN_DEMAND_PROVIDER); this one is the default. It starts from the steering decisions
the CDN recorded (decayed, as `cdn.warming.demand_from_decisions` does) and adds the titles
whose availability window opens before the next fill, keyed by their served media asset, so a
launch is on the edges before its first viewer. Only what is known at `now` is used: plays
before it and availability windows, never later plays.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Q

from catalog.models import Availability
from cdn.models import Site
from cdn.warming import LOOKBACK, Demand, decayed_demand, recorded_plays, with_releases
from media.models import MediaAsset

HORIZON = timedelta(hours=24)


def release_schedule(*, now: datetime) -> dict[str, dict[str, float]]:
    """Country ("" for everywhere) -> {content key: epoch second its window opens}.

    Windows opening from LOOKBACK ago (earlier launches, which teach the release prior) up to
    HORIZON ahead, for published titles with a served asset (a movie's, or every episode's of
    a series).
    """
    windows = Availability.objects.filter(
        starts_at__gte=now - LOOKBACK,
        starts_at__lt=now + HORIZON,
        title__is_published=True,
    ).values_list("title_id", "country", "starts_at")
    by_title: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for title_id, country, starts_at in windows:
        by_title[title_id].append((country, starts_at.timestamp()))
    if not by_title:
        return {}
    assets = (
        MediaAsset.objects.ready()
        .filter(Q(title_id__in=by_title) | Q(episode__season__title_id__in=by_title))
        .values_list("title_id", "episode__season__title_id", "content_key")
    )
    schedule: dict[str, dict[str, float]] = defaultdict(dict)
    for title_id, series_id, content_key in assets:
        key = content_key.rstrip("/") + "/"
        for country, opens in by_title[title_id or series_id]:
            schedule[country][key] = min(opens, schedule[country].get(key, opens))
    return dict(schedule)


def demand(*, now: datetime) -> Demand:
    """Per site: decayed recorded plays, plus the releases its country will see by tomorrow."""
    at = now.timestamp()
    plays_by_site: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for play in recorded_plays(now=now):
        plays_by_site[play[0]].append(play)
    schedule = release_schedule(now=now)
    out: Demand = {}
    for name, country in Site.objects.values_list("name", "country"):
        plays = plays_by_site.get(name, [])
        base = {name: decayed_demand(plays, now=at).get(name, {})}
        releases = {**schedule.get("", {}), **schedule.get(country, {})}
        keys = with_releases(base, releases, now=at, plays=plays).get(name)
        if keys:
            out[name] = keys
    return out
