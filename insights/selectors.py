"""Reads for the staff dashboard: every chart is a Dataset (columns and rows) read from the
rollups, so the page, its CSV files and the staff API show the same numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from insights.models import (
    DailyEdge,
    DailyQoe,
    DailyRevenue,
    DailyTotals,
    StreamSample,
    TopTitle,
)
from insights.services import TOP_DAYS
from media.models import MediaAsset
from recommendations.models import ModelVersion

TREND_DAYS = 30
TOP_KEYS = 12  # rows per QoE dimension table


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _ratio_pct(value: float | None) -> float | None:
    return round(100 * value, 2) if value is not None else None


@dataclass(frozen=True)
class Dataset:
    """One chart: a table, plus which columns the bar chart draws (label, value)."""

    name: str
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    chart: tuple[int, int] | None = (0, 1)
    unit: str = ""
    notes: list[str] = field(default_factory=list)
    table: bool = True  # False for day-by-day trends: the chart and the CSV carry them

    def bars(self) -> list[tuple[str, float]]:
        if self.chart is None:
            return []
        label, value = self.chart
        return [(str(row[label]), float(row[value] or 0)) for row in self.rows]


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def _trend_days(day: date) -> list[date]:
    return [day - timedelta(days=back) for back in range(TREND_DAYS - 1, -1, -1)]


def _totals(day: date) -> dict[date, DailyTotals]:
    since = day - timedelta(days=TREND_DAYS - 1)
    return {t.day: t for t in DailyTotals.objects.filter(day__gte=since, day__lte=day)}


def viewing_trend(day: date) -> Dataset:
    totals = _totals(day)
    rows = []
    for d in _trend_days(day):
        t = totals.get(d)
        hours = round(t.watched_ms / 3_600_000, 1) if t else 0.0
        rows.append(
            (
                d.isoformat(),
                hours,
                t.plays if t else 0,
                t.viewers if t else 0,
                t.peak_streams if t else 0,
            )
        )
    return Dataset(
        "viewing",
        _("Hours watched per day, last %(days)s days") % {"days": TREND_DAYS},
        ["day", "hours_watched", "plays", "unique_viewers", "peak_streams"],
        rows,
        unit="h",
        table=False,
    )


def _view(base: Dataset, name: str, title: str, column: int, unit: str = "") -> Dataset:
    """Another chart of the same rows (one query feeds several charts)."""
    return Dataset(name, title, base.columns, base.rows, (0, column), unit, base.notes, base.table)


def top_titles(day: date) -> Dataset:
    rows = [
        (t.country, t.rank, t.title.name, t.plays, round(t.watched_ms / 3_600_000, 1))
        for t in TopTitle.objects.filter(day=day).select_related("title")
    ]
    return Dataset(
        "top-titles",
        _("Top titles per country, last %(days)s days") % {"days": TOP_DAYS},
        ["country", "rank", "title", "plays", "hours_watched"],
        rows,
        chart=None,
    )


def _qoe_row(q: DailyQoe) -> tuple[Any, ...]:
    return (
        q.key,
        q.sessions,
        q.startup_p50_ms,
        q.startup_p95_ms,
        _ratio_pct(q.rebuffering_ratio),
        round(q.average_kbps) if q.average_kbps is not None else None,
        _ratio_pct(q.error_rate),
        q.exits_before_start,
    )


# Chart titles are translated when built (in the request's language); the dimension is part of
# the sentence, so each has its own.
QOE_TITLES: dict[str, Callable[[], str]] = {
    "site": lambda: _("QoE by site today"),
    "edge": lambda: _("QoE by edge today"),
    "title": lambda: _("QoE by title today"),
    "device": lambda: _("QoE by device today"),
}

QOE_COLUMNS = [
    "key",
    "sessions",
    "video_start_p50_ms",
    "video_start_p95_ms",
    "rebuffering_pct",
    "average_kbps",
    "error_rate_pct",
    "exits_before_start",
]


def qoe_by(dimension: str, day: date) -> Dataset:
    rows = DailyQoe.objects.filter(day=day, dimension=dimension).order_by("-sessions", "key")[
        :TOP_KEYS
    ]
    return Dataset(
        f"qoe-{dimension}",
        QOE_TITLES[dimension](),
        QOE_COLUMNS,
        [_qoe_row(q) for q in rows],
        chart=(0, 3),
        unit="ms",
    )


def qoe_trend(day: date) -> Dataset:
    rows = {
        q.day: q
        for q in DailyQoe.objects.filter(
            dimension=DailyQoe.Dimension.ALL,
            day__gte=day - timedelta(days=TREND_DAYS - 1),
            day__lte=day,
        )
    }
    out = []
    for d in _trend_days(day):
        q = rows.get(d)
        out.append((d.isoformat(), *_qoe_row(q)[1:]) if q else (d.isoformat(), 0, *[None] * 6))
    return Dataset(
        "qoe-trend",
        _("Video start time p95 per day, last %(days)s days") % {"days": TREND_DAYS},
        ["day", *QOE_COLUMNS[1:]],
        out,
        chart=(0, 3),
        unit="ms",
        table=False,
    )


def edges(day: date) -> Dataset:
    since = day - timedelta(days=TOP_DAYS - 1)
    sums = (
        DailyEdge.objects.filter(day__gte=since, day__lte=day)
        .values("edge")
        .annotate(
            requests=Sum("requests"),
            lookups=Sum("lookups"),
            hits=Sum("hits"),
            bytes=Sum("bytes"),
            lookup_bytes=Sum("lookup_bytes"),
            hit_bytes=Sum("hit_bytes"),
            origin_bytes=Sum("origin_bytes"),
            errors=Sum("errors"),
        )
        .order_by("edge")
    )
    rows = [
        (
            s["edge"],
            s["requests"],
            _pct(s["hits"], s["lookups"]),
            _pct(s["hit_bytes"], s["lookup_bytes"]),
            round(s["bytes"] / 1e9, 3),
            _pct(s["bytes"] - s["origin_bytes"], s["bytes"]),
            s["errors"],
        )
        for s in sums
    ]
    return Dataset(
        "edges",
        _("Edge hit ratio (by requests), last %(days)s days") % {"days": TOP_DAYS},
        [
            "edge",
            "requests",
            "hit_ratio_requests_pct",
            "hit_ratio_bytes_pct",
            "egress_gb",
            "origin_offload_pct",
            "errors_5xx",
        ],
        rows,
        chart=(0, 2),
        unit="%",
    )


def offload_trend(day: date) -> Dataset:
    sums = {
        s["day"]: s
        for s in DailyEdge.objects.filter(
            day__gte=day - timedelta(days=TREND_DAYS - 1), day__lte=day
        )
        .values("day")
        .annotate(
            bytes=Sum("bytes"), origin=Sum("origin_bytes"), hits=Sum("hits"), lookups=Sum("lookups")
        )
        .order_by("day")
    }
    rows = []
    for d in _trend_days(day):
        s = sums.get(d)
        rows.append(
            (
                d.isoformat(),
                _pct(s["bytes"] - s["origin"], s["bytes"]) if s else None,
                _pct(s["hits"], s["lookups"]) if s else None,
                round(s["bytes"] / 1e9, 3) if s else 0,
            )
        )
    return Dataset(
        "offload",
        _("Origin offload per day (all edges), last %(days)s days") % {"days": TREND_DAYS},
        ["day", "origin_offload_pct", "hit_ratio_requests_pct", "egress_gb"],
        rows,
        unit="%",
        table=False,
    )


def transcodes(now: datetime) -> Dataset:
    counts = dict(
        MediaAsset.objects.exclude(status=MediaAsset.Status.READY)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    failed_day = MediaAsset.objects.filter(
        status=MediaAsset.Status.FAILED, updated_at__gte=now - timedelta(days=1)
    ).count()
    rows = [
        (status.label, counts.get(status.value, 0))
        for status in MediaAsset.Status
        if status != MediaAsset.Status.READY
    ]
    rows.append((_("Failed in the last 24 h"), failed_day))
    return Dataset("transcodes", _("Transcode queue and failures"), ["state", "assets"], rows)


def models() -> Dataset:
    versions = ModelVersion.objects.exclude(
        status__in=(ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING)
    ).order_by("-created_at", "-id")[:8]
    rows = [
        (
            f"#{v.pk}",
            v.algorithm,
            v.status,
            v.metric("ndcg@10"),
            v.metric("recall@10"),
            v.n_interactions,
        )
        for v in versions
    ]
    return Dataset(
        "models",
        _("Recommendation models (holdout metrics)"),
        ["version", "algorithm", "status", "ndcg_at_10", "recall_at_10", "interactions"],
        rows,
        chart=(0, 3),
        notes=[_("Row click-through: the site records no row impressions or clicks yet.")],
    )


def revenue(day: date) -> Dataset:
    rows = [
        (r.day.isoformat(), r.currency, r.mrr, round(100 * r.churn_30d, 2), r.ended_30d)
        for r in DailyRevenue.objects.filter(
            day__gte=day - timedelta(days=TREND_DAYS - 1), day__lte=day
        ).order_by("day", "currency")
    ]
    return Dataset(
        "revenue",
        _("MRR per day (minor units), last %(days)s days") % {"days": TREND_DAYS},
        ["day", "currency", "mrr_minor", "churn_30d_pct", "ended_30d"],
        rows,
        chart=(0, 2),
    )


class _Datasets:
    """Builds datasets by name for one moment; shared queries run once per instance."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.day = now.astimezone(UTC).date()
        self.memo: dict[str, Dataset] = {}

    def _base(self, name: str, build: Callable[[date], Dataset]) -> Dataset:
        if name not in self.memo:
            self.memo[name] = build(self.day)
        return self.memo[name]

    def build(self, name: str) -> Dataset | None:
        day, T = self.day, TREND_DAYS  # noqa: N806
        viewing = lambda: self._base("viewing", viewing_trend)  # noqa: E731
        qoe = lambda: self._base("qoe-trend", qoe_trend)  # noqa: E731
        builders: dict[str, Callable[[], Dataset]] = {
            "viewing": viewing,
            "plays": lambda: _view(
                viewing(), "plays", _("Plays per day, last %(days)s days") % {"days": T}, 2
            ),
            "viewers": lambda: _view(
                viewing(),
                "viewers",
                _("Unique viewers per day, last %(days)s days") % {"days": T},
                3,
            ),
            "streams": lambda: _view(
                viewing(),
                "streams",
                _("Peak concurrent streams per day, last %(days)s days") % {"days": T},
                4,
            ),
            "top-titles": lambda: top_titles(day),
            "qoe-trend": qoe,
            "rebuffering": lambda: _view(
                qoe(),
                "rebuffering",
                _("Rebuffering ratio per day, last %(days)s days") % {"days": T},
                4,
                "%",
            ),
            "qoe-site": lambda: qoe_by("site", day),
            "qoe-edge": lambda: qoe_by("edge", day),
            "qoe-title": lambda: qoe_by("title", day),
            "qoe-device": lambda: qoe_by("device", day),
            "edges": lambda: edges(day),
            "offload": lambda: offload_trend(day),
            "transcodes": lambda: transcodes(self.now),
            "models": models,
            "revenue": lambda: revenue(day),
        }
        builder = builders.get(name)
        return builder() if builder else None


NAMES = [
    "viewing",
    "plays",
    "viewers",
    "streams",
    "top-titles",
    "qoe-trend",
    "rebuffering",
    "qoe-site",
    "qoe-edge",
    "qoe-title",
    "qoe-device",
    "edges",
    "offload",
    "transcodes",
    "models",
    "revenue",
]


def dataset(name: str, *, now: datetime | None = None) -> Dataset | None:
    return _Datasets(now or timezone.now()).build(name)


def datasets(names: list[str], *, now: datetime | None = None) -> dict[str, Dataset]:
    """Several datasets at one moment, each shared query run once."""
    builder = _Datasets(now or timezone.now())
    out = {}
    for name in names:
        data = builder.build(name)
        if data is not None:
            out[name] = data
    return out


@dataclass(frozen=True)
class Overview:
    day: date
    totals: DailyTotals | None
    streams_now: int | None
    streams_at: datetime | None
    qoe: DailyQoe | None
    revenue: list[DailyRevenue]


def overview(*, with_revenue: bool, now: datetime | None = None) -> Overview:
    """Today's headline figures; the latest day's revenue only when the viewer may see it (it
    is not read otherwise)."""
    now = now or timezone.now()
    day = now.astimezone(UTC).date()
    sample = StreamSample.objects.order_by("-at").first()
    fresh = sample is not None and sample.at >= now - timedelta(minutes=5)
    return Overview(
        day=day,
        totals=DailyTotals.objects.filter(day=day).first(),
        streams_now=sample.streams if fresh and sample else None,
        streams_at=sample.at if fresh and sample else None,
        qoe=DailyQoe.objects.filter(day=day, dimension=DailyQoe.Dimension.ALL).first(),
        revenue=list(
            DailyRevenue.objects.filter(
                day=DailyRevenue.objects.filter(day__lte=day).order_by("-day").values("day")[:1]
            ).order_by("currency")
        )
        if with_revenue
        else [],
    )
