"""Folding a player's QoE report into the session's summary row and the minute's sums.

A report carries what happened since the previous one (deltas), so it is added, never set;
heartbeats that were not applied (a replayed sequence number) are not folded twice, and each
session may report at most PLAYBACK_QOE_REPORTS_PER_MINUTE times a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from playback.models import PlaybackSession, QoeMinute, QoeSession
from streamsite.retention import delete_oldest

# Summed fields a report may carry, each added to both rows.
COUNTERS = (
    "played_ms",
    "stall_count",
    "stall_ms",
    "switches",
    "dropped_frames",
    "fatal_errors",
    "recovered_errors",
)


@dataclass(frozen=True)
class QoeReport:
    """One validated report (playback.apis.qoe checks bounds and refuses unknown fields)."""

    startup_ms: int | None = None
    played_ms: int = 0
    avg_kbps: float = 0.0
    stall_count: int = 0
    stall_ms: int = 0
    switches: int = 0
    level: int | None = None
    dropped_frames: int = 0
    fatal_errors: int = 0
    recovered_errors: int = 0
    edge: str = ""

    @property
    def bitrate_kbps_ms(self) -> int:
        return round(self.avg_kbps * self.played_ms)


def _within_rate(session_id: object, now: datetime) -> bool:
    """At most PLAYBACK_QOE_REPORTS_PER_MINUTE reports per session and clock minute."""
    key = f"playback:qoe-rate:{session_id}:{int(now.timestamp()) // 60}"
    if cache.add(key, 1, timeout=120):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=120)
            count = 1
    return bool(count <= settings.PLAYBACK_QOE_REPORTS_PER_MINUTE)


def _minute_row(minute: datetime, edge: str) -> None:
    """Make sure the (minute, edge) row exists; a concurrent insert of the same row is fine."""
    if QoeMinute.objects.filter(minute=minute, edge=edge).exists():
        return
    try:
        with transaction.atomic():
            QoeMinute.objects.create(minute=minute, edge=edge)
    except IntegrityError:
        pass


def qoe_record(*, session: PlaybackSession, report: QoeReport, now: datetime | None = None) -> bool:
    """Add `report` to the session's summary and to the current minute of its edge. False when
    the session is over its report rate (nothing is stored)."""
    now = now or timezone.now()
    if not _within_rate(session.pk, now):
        return False
    minute = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        summary, _ = QoeSession.objects.get_or_create(
            session=session, defaults={"started_at": session.created_at, "updated_at": now}
        )
        edge = report.edge or summary.edge
        changes: dict[str, object] = {
            name: F(name) + getattr(report, name) for name in COUNTERS if getattr(report, name)
        }
        if report.bitrate_kbps_ms:
            changes["bitrate_kbps_ms"] = F("bitrate_kbps_ms") + report.bitrate_kbps_ms
        if report.level is not None:
            changes["level"] = report.level
        if report.edge:
            changes["edge"] = report.edge
        QoeSession.objects.filter(pk=summary.pk).update(
            reports=F("reports") + 1, updated_at=now, **changes
        )
        started = 0
        if report.startup_ms is not None:
            # The first frame happens once: a later report of it changes nothing.
            started = QoeSession.objects.filter(pk=summary.pk, startup_ms__isnull=True).update(
                startup_ms=report.startup_ms
            )
        _minute_row(minute, edge)
        minute_changes = {k: v for k, v in changes.items() if k not in ("level", "edge")}
        if started:
            minute_changes["starts"] = F("starts") + 1
            minute_changes["startup_ms"] = F("startup_ms") + report.startup_ms
        QoeMinute.objects.filter(minute=minute, edge=edge).update(
            reports=F("reports") + 1, **minute_changes
        )
    return True


# Minute sums are kept this long; the dashboard's daily rollups (insights) outlive them.
MINUTE_RETENTION = timedelta(days=35)


def qoe_minutes_prune(*, before: datetime, batch: int = 5000) -> int:
    """Delete one batch of QoE minute rows older than `before`; returns how many went."""
    return delete_oldest(
        QoeMinute.objects.filter(minute__lt=before), order_by="minute", batch=batch
    )
