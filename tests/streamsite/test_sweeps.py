"""Sweeps that make a wiped broker converge: each finds unfinished rows and sends their task
again (the tasks claim their rows, so a message sent twice does the work once)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cdn import tasks as cdn_tasks
from cdn.models import EdgeContent
from tests.cdn.factories import EdgeFactory, SiteFactory


@pytest.mark.django_db
def test_the_warming_sweep_resends_lost_and_abandoned_prefetches_inside_the_window(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(cdn_tasks.warm_edge_content, "delay_on_commit", sent.append)
    now = timezone.now()
    open_edge = EdgeFactory(site=SiteFactory(name="open", fill_start_hour=0, fill_end_hour=24))
    closed_edge = EdgeFactory(site=SiteFactory(name="shut", fill_start_hour=3, fill_end_hour=3))

    def row(edge, key: str, status: str, age: timedelta) -> int:
        return EdgeContent.objects.create(
            edge=edge, content_key=key, status=status, updated_at=now - age
        ).pk

    lost = row(open_edge, "hls/lost/", "pending", timedelta(minutes=11))
    row(open_edge, "hls/fresh/", "pending", timedelta(minutes=1))
    dead = row(open_edge, "hls/dead/", "filling", timedelta(minutes=6))
    row(open_edge, "hls/live/", "filling", timedelta(minutes=1))
    row(open_edge, "hls/done/", "done", timedelta(days=1))
    row(open_edge, "hls/failed/", "failed", timedelta(days=1))  # the hourly plan retries it
    row(closed_edge, "hls/lost/", "pending", timedelta(hours=1))  # outside its fill window

    assert cdn_tasks.sweep_warming() == 2
    assert sent == [lost, dead]
