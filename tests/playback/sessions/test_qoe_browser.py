"""In a real browser: the shipped player (hls.js + static/player/qoe.js) reports QoE with its
heartbeats and the stop beacon, and the session gets a summary with a video start time."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
from django.db.models import Sum

from playback.models import PlaybackSession, QoeMinute, QoeSession
from playback.ports import local_asset_folder
from tests.playback.sessions import test_browser as shared
from tests.playback.sessions.factories import TitleFactory

# The player browser tests' fixtures and helpers (Chromium, a real ffmpeg-made HLS clip).
browser_page = shared.browser_page
hls_source = shared.hls_source
sign_in, wait_js, wait_until = shared.sign_in, shared.wait_js, shared.wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_real_playback_reports_its_start_time_and_playing_time(
    live_server, browser_page, settings, tmp_path, hls_source, alice, alice_profile
):
    settings.PLAYBACK_HEARTBEAT_SECONDS = 4
    settings.MEDIA_ROOT = tmp_path / "media"
    title = TitleFactory(name="Test Pattern", slug="test-pattern")
    shutil.copytree(hls_source, local_asset_folder(f"title-{title.pk}"))
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, alice, alice_profile)

    page.goto(f"{live_server.url}/watch/{title.pk}/")
    wait_js(page, "document.getElementById('player-video').currentTime > 1.5")
    # The first heartbeat after the first frame carries the start time.
    assert wait_until(
        page,
        lambda: QoeSession.objects.filter(startup_ms__isnull=False).exists(),
        timeout_ms=20_000,
    )
    seen_by_player = page.evaluate("Math.round(window.streamsiteQoe.state.startupMs)")
    summary = QoeSession.objects.get()
    assert summary.startup_ms == seen_by_player
    assert summary.startup_ms > 0

    # Leave: the stop beacon carries the last report.
    page.goto("about:blank")
    session = PlaybackSession.objects.get()
    assert wait_until(page, lambda: PlaybackSession.objects.get().end_reason == "stopped")

    def minutes() -> dict:
        return QoeMinute.objects.aggregate(starts=Sum("starts"), played=Sum("played_ms"))

    # The beacon's last report may land just after the session is marked stopped; each report
    # adds to the summary and to its minute in one transaction, so once the two read alike
    # nothing is in flight.
    def settled() -> bool:
        summary.refresh_from_db()
        return minutes() == {"starts": 1, "played": summary.played_ms}

    assert wait_until(page, settled)
    assert summary.session_id == session.pk
    assert summary.played_ms > 1000  # the clip really played for more than a second
    assert summary.level in (0, 1)  # one of the clip's two renditions
    assert summary.bitrate_kbps_ms > 0
    assert summary.edge == urlsplit(live_server.url).netloc  # Django served the media here
    assert summary.fatal_errors == 0
    assert minutes() == {"starts": 1, "played": summary.played_ms}
    assert errors == []
