"""Celery adapters keeping the dashboard's rollups (scheduled in settings: insights.*)."""

from __future__ import annotations

from datetime import UTC, timedelta

from celery import shared_task
from django.utils import timezone

from insights import services


@shared_task(name="insights.tasks.rollup_days")
def rollup_days() -> list[str]:
    """Every 5 minutes: today's rollup; in the first hour of a day, yesterday's final one too
    (its last sessions stop and report after midnight)."""
    now = timezone.now().astimezone(UTC)
    days = [now.date()]
    if now.hour == 0:
        days.insert(0, now.date() - timedelta(days=1))
    return [str(services.rollup_day(day=day, now=now).day) for day in days]


@shared_task(name="insights.tasks.sample_streams")
def sample_streams() -> int:
    """Every minute: how many streams are live."""
    return services.streams_sample()


@shared_task(name="insights.tasks.record_revenue")
def record_revenue() -> int:
    """Hourly: billing's MRR and churn for today."""
    return services.revenue_record()
