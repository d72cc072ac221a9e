"""Keeping the rollups: a day recomputed from its sources (idempotent: the day's rows are
replaced in one transaction), live streams sampled each minute, revenue recorded per day."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing import selectors as billing_selectors
from cdn.models import Edge, EdgeTrafficMinute
from insights.models import (
    DailyEdge,
    DailyQoe,
    DailyRevenue,
    DailyTotals,
    DailyViewing,
    StreamSample,
    TopTitle,
)
from playback.models import PlaybackSession

# Top titles per country: this many, over this many days ending on the rolled-up day.
TOP_PER_COUNTRY = 5
TOP_DAYS = 7
# Samples are kept this long (each day's peak is in DailyTotals).
SAMPLE_RETENTION = timedelta(days=8)
# QoE sessions whose media came from no known edge were served by the origin.
ORIGIN = "origin"


@dataclass(frozen=True)
class DayRollup:
    day: date
    sessions: int
    qoe_rows: int
    edges: int


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Days are UTC days."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of an ascending list (p in 0-100); None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _edge_names() -> dict[str, tuple[str, str]]:
    """host[:port] the player saw -> (edge name, site name)."""
    return {
        urlsplit(edge.base_url).netloc: (edge.name, edge.site.name)
        for edge in Edge.objects.select_related("site")
    }


class _QoeSums:
    def __init__(self) -> None:
        self.sessions = self.started = self.exits = self.errored = 0
        self.played_ms = self.stall_ms = self.bitrate_kbps_ms = 0
        self.startups: list[int] = []

    def add(self, row: dict[str, Any], *, ended: bool) -> None:
        self.sessions += 1
        if row["startup_ms"] is None:
            self.exits += int(ended)
        else:
            self.started += 1
            self.startups.append(row["startup_ms"])
        self.errored += int(row["fatal_errors"] > 0)
        self.played_ms += row["played_ms"]
        self.stall_ms += row["stall_ms"]
        self.bitrate_kbps_ms += row["bitrate_kbps_ms"]

    def row(self, day: date, dimension: str, key: str) -> DailyQoe:
        startups = sorted(self.startups)
        return DailyQoe(
            day=day,
            dimension=dimension,
            key=key[:255],
            sessions=self.sessions,
            started=self.started,
            exits_before_start=self.exits,
            errored=self.errored,
            startup_p50_ms=percentile(startups, 50),
            startup_p95_ms=percentile(startups, 95),
            played_ms=self.played_ms,
            stall_ms=self.stall_ms,
            bitrate_kbps_ms=self.bitrate_kbps_ms,
        )


def rollup_day(*, day: date, now: datetime | None = None) -> DayRollup:
    """Recompute `day`'s viewing, QoE and edge rows from playback and cdn."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    sessions = list(
        PlaybackSession.objects.filter(created_at__gte=start, created_at__lt=end).values(
            "profile_id",
            "title_id",
            "title__name",
            "account__country",
            "device",
            "ended_at",
            "expires_at",
            "qoe__reports",
            "qoe__startup_ms",
            "qoe__played_ms",
            "qoe__stall_ms",
            "qoe__bitrate_kbps_ms",
            "qoe__fatal_errors",
            "qoe__edge",
        )
    )
    edges = _edge_names()
    viewing: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: {"plays": 0, "viewers": set(), "watched_ms": 0}
    )
    qoe: dict[tuple[str, str], _QoeSums] = defaultdict(_QoeSums)
    viewers: set[int] = set()
    watched_ms = 0
    for s in sessions:
        country = s["account__country"] or settings.DEFAULT_COUNTRY
        cell = viewing[(s["title_id"], country)]
        cell["plays"] += 1
        cell["viewers"].add(s["profile_id"])
        viewers.add(s["profile_id"])
        if s["qoe__reports"] is None:
            continue  # a player that reports no QoE
        played = s["qoe__played_ms"]
        cell["watched_ms"] += played
        watched_ms += played
        row = {
            "startup_ms": s["qoe__startup_ms"],
            "played_ms": played,
            "stall_ms": s["qoe__stall_ms"],
            "bitrate_kbps_ms": s["qoe__bitrate_kbps_ms"],
            "fatal_errors": s["qoe__fatal_errors"],
        }
        ended = s["ended_at"] is not None or s["expires_at"] <= now
        host = s["qoe__edge"]
        edge, site = edges.get(host, (host or ORIGIN, ORIGIN))
        for dimension, key in (
            (DailyQoe.Dimension.ALL, "all"),
            (DailyQoe.Dimension.SITE, site),
            (DailyQoe.Dimension.EDGE, edge),
            (DailyQoe.Dimension.TITLE, s["title__name"]),
            (DailyQoe.Dimension.DEVICE, s["device"] or "Unknown device"),
        ):
            qoe[(dimension, key)].add(row, ended=ended)
    edge_days = list(
        EdgeTrafficMinute.objects.filter(minute__gte=start, minute__lt=end)
        .values("edge")
        .annotate(**{name: Sum(name) for name in EdgeTrafficMinute.TRAFFIC})
        .order_by("edge")
    )
    peak = max(
        StreamSample.objects.filter(at__gte=start, at__lt=end).values_list("streams", flat=True),
        default=0,
    )
    with transaction.atomic():
        DailyViewing.objects.filter(day=day).delete()
        DailyViewing.objects.bulk_create(
            DailyViewing(
                day=day,
                title_id=title_id,
                country=country,
                plays=cell["plays"],
                viewers=len(cell["viewers"]),
                watched_ms=cell["watched_ms"],
            )
            for (title_id, country), cell in sorted(viewing.items())
        )
        DailyQoe.objects.filter(day=day).delete()
        DailyQoe.objects.bulk_create(
            sums.row(day, dimension, key) for (dimension, key), sums in sorted(qoe.items())
        )
        DailyEdge.objects.filter(day=day).delete()
        DailyEdge.objects.bulk_create(
            DailyEdge(day=day, **{k: v or 0 for k, v in row.items()}) for row in edge_days
        )
        TopTitle.objects.filter(day=day).delete()
        TopTitle.objects.bulk_create(_top_titles(day))
        DailyTotals.objects.update_or_create(
            day=day,
            defaults={
                "plays": len(sessions),
                "viewers": len(viewers),
                "watched_ms": watched_ms,
                "peak_streams": peak,
                "updated_at": now,
            },
        )
    return DayRollup(day=day, sessions=len(sessions), qoe_rows=len(qoe), edges=len(edge_days))


def _top_titles(day: date) -> list[TopTitle]:
    """Most played titles per country over TOP_DAYS days ending on `day` (ties: by title id)."""
    sums = (
        DailyViewing.objects.filter(day__gt=day - timedelta(days=TOP_DAYS), day__lte=day)
        .values("country", "title_id")
        .annotate(plays=Sum("plays"), watched=Sum("watched_ms"))
        .order_by("country", "-plays", "title_id")
    )
    ranks: dict[str, int] = defaultdict(int)
    rows = []
    for row in sums:
        ranks[row["country"]] += 1
        if ranks[row["country"]] <= TOP_PER_COUNTRY:
            rows.append(
                TopTitle(
                    day=day,
                    country=row["country"],
                    rank=ranks[row["country"]],
                    title_id=row["title_id"],
                    plays=row["plays"],
                    watched_ms=row["watched"],
                )
            )
    return rows


def streams_sample(*, now: datetime | None = None) -> int:
    """Count the live leases now into this minute's sample; drop samples past retention."""
    now = now or timezone.now()
    streams = PlaybackSession.objects.live(now).count()
    minute = now.replace(second=0, microsecond=0)
    StreamSample.objects.update_or_create(at=minute, defaults={"streams": streams})
    StreamSample.objects.filter(at__lt=now - SAMPLE_RETENTION).delete()
    return streams


def revenue_record(*, now: datetime | None = None) -> int:
    """Store billing's MRR and 30-day churn for today, one row per currency."""
    now = now or timezone.now()
    data = billing_selectors.revenue(now)
    currencies = sorted(data.mrr) or [settings.BILLING_DEFAULT_CURRENCY]
    with transaction.atomic():
        for currency in currencies:
            DailyRevenue.objects.update_or_create(
                day=now.astimezone(UTC).date(),
                currency=currency,
                defaults={
                    "mrr": data.mrr.get(currency, 0),
                    "churn_30d": data.churn_30d,
                    "ended_30d": data.ended_30d,
                },
            )
    return len(currencies)
