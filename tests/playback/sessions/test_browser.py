"""In a real browser: the watch page plays adaptive HLS, beats, stops on leave and resumes.

Debian's Chromium driven by Playwright against pytest-django's live server; a tiny real HLS
stream (two renditions, 2 s segments, 8 s) is made with ffmpeg for the run. Screenshots go
to $STREAMSITE_SCREENSHOTS_DIR (a temp dir by default).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections

from playback import ports
from playback.demo.clip import make_hls_asset
from playback.models import PlaybackSession, Progress
from playback.ports import local_asset_folder
from tests.clients import sign_in_browser
from tests.playback.sessions.factories import TitleFactory

# The player's menus narrower than they would be on their own, so their chosen option is cut
# short: a copy of each, out of the flow and with no width set, gives the width it wants.
CUT_MENUS = """() => Array.from(document.querySelectorAll('.player-menu:not([hidden]) select'))
  .filter(s => {
    const copy = s.cloneNode(true);
    copy.style.position = 'absolute'; copy.style.visibility = 'hidden';
    copy.style.width = 'auto'; copy.style.maxWidth = 'none'; copy.style.minWidth = '0';
    s.parentNode.appendChild(copy);
    const wants = copy.getBoundingClientRect().width;
    copy.remove();
    return s.getBoundingClientRect().width + 1 < wants; })
  .map(s => s.dataset.role + ': ' + s.options[s.selectedIndex].text)"""


def wait_js(page, expression: str, *, timeout: float = 30.0, polling: int = 100) -> None:
    """Poll a JS expression with page.evaluate until truthy.

    Playwright's wait_for_function compiles the predicate inside the page, which the site's
    Content-Security-Policy (no 'unsafe-eval') rightly forbids; evaluate() runs over CDP and is
    not subject to it, so the page keeps its real CSP during the test.
    """
    deadline = time.monotonic() + timeout
    while True:
        if page.evaluate(f"() => Boolean({expression})"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        page.wait_for_timeout(polling)


pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# Screenshots go to a temp dir, so a test run never rewrites the README's pictures; set
# STREAMSITE_SCREENSHOTS_DIR=docs/screenshots to refresh them on purpose.
SCREENSHOTS = Path(
    os.environ.get("STREAMSITE_SCREENSHOTS_DIR")
    or Path(tempfile.gettempdir()) / "streamsite-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def hls_source(tmp_path_factory):
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is required (apt-get install ffmpeg; see .ci/packages.sh)")
    return make_hls_asset(
        tmp_path_factory.mktemp("hls") / "source",
        seconds=8,
        markers={"intro_start": 0, "intro_end": 2, "credits_start": 7},
    )


@pytest.fixture
def browser_page(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, requests_in_flight() as in_flight:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
        # A request the player sent just before the browser closed may still be running in
        # the live server's thread: let it finish before the test database is flushed, or its
        # row locks and the flush's TRUNCATE can deadlock.
        in_flight.wait_idle(timeout=10)
        # The test's ORM calls under Playwright's sync API get their own connection (Django
        # keys connections by context); close it here, or PostgreSQL cannot drop the test DB.
        connections.close_all()


class _InFlight:
    """Requests this process's live server has started and not finished (request signals)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def started(self, **kwargs: object) -> None:
        with self.lock:
            self.count += 1

    def finished(self, **kwargs: object) -> None:
        with self.lock:
            self.count -= 1

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count > 0 and time.monotonic() < deadline:
            time.sleep(0.02)


@contextmanager
def requests_in_flight():
    from django.core.signals import request_finished, request_started

    counter = _InFlight()
    request_started.connect(counter.started, dispatch_uid="browser-test-started")
    request_finished.connect(counter.finished, dispatch_uid="browser-test-finished")
    try:
        yield counter
    finally:
        request_started.disconnect(dispatch_uid="browser-test-started")
        request_finished.disconnect(dispatch_uid="browser-test-finished")


def sign_in(page, live_server, user, profile):
    """The browser is signed in as `user` and has picked `profile` ("Who's watching?")."""
    sign_in_browser(page, live_server, user, profile)


def wait_until(page, predicate, timeout_ms=10_000):
    """Poll the database while the browser works (bounded; the browser is outside our clock)."""
    for _ in range(timeout_ms // 100):
        if _poll(predicate):
            return True
        page.wait_for_timeout(100)
    return _poll(predicate)


def _poll(predicate) -> bool:
    """One poll; a read that SQLite's shared test database refuses while the live server's
    thread holds the table's lock for a write ("database table is locked") counts as not yet."""
    try:
        return bool(predicate())
    except OperationalError as exc:
        if connection.vendor != "sqlite" or "is locked" not in str(exc):
            raise
        return False


def test_plays_beats_stops_and_resumes(
    live_server, browser_page, settings, tmp_path, hls_source, alice, alice_profile, monkeypatch
):
    # Tokens live one interval and the player beats at two thirds of it: short, yet longer
    # than a request takes on a busy machine.
    settings.PLAYBACK_HEARTBEAT_SECONDS = 4
    settings.MEDIA_ROOT = tmp_path / "media"
    title = TitleFactory(name="Test Pattern", slug="test-pattern")
    shutil.copytree(hls_source, local_asset_folder(f"title-{title.pk}"))
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, alice, alice_profile)

    # Play: hls.js parses both renditions and the video really advances.
    page.goto(f"{live_server.url}/watch/{title.pk}/")
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.levels >= 2")
    wait_js(page, "document.getElementById('player-video').currentTime > 1.0")
    assert page.evaluate("window.streamsitePlayer.levels") == 2
    assert page.locator("[data-role=quality] option").all_inner_texts()[1:] == ["360p", "180p"]
    # Inside the intro (0-2 s) the Skip Intro button shows (paused there: the test is slower
    # than the 2 s intro on a busy machine).
    page.evaluate(
        "const v = document.getElementById('player-video'); v.pause(); v.currentTime = 1.2"
    )
    page.wait_for_selector("[data-role=skip-intro]:not([hidden])")
    page.evaluate("document.getElementById('player-video').play()")
    # Menus: English subtitles on, quality pinned to 360p.
    assert page.locator("[data-role=subtitles] option").all_inner_texts() == [
        "Subtitles off",
        "English",
    ]
    # One soundtrack (muxed into the variants, no audio group): no audio menu to offer.
    assert page.locator("[data-role=audio]").is_hidden()
    # On a phone the menus share their line: neither "Subtitles off" nor "Auto (…)" is cut, down
    # to the narrowest phones (both were cut at 320 px while the menus split the line evenly).
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate(CUT_MENUS) == [], width
    page.set_viewport_size({"width": 1280, "height": 720})
    page.select_option("[data-role=subtitles]", "0")
    page.select_option("[data-role=quality]", "1")
    assert page.evaluate("window.streamsitePlayer.hls.subtitleTrack") == 0
    assert page.evaluate("window.streamsitePlayer.hls.autoLevelEnabled") is False
    wait_js(page, "window.streamsitePlayer.hls.currentLevel === 1")
    assert page.locator("[data-role=quality]").input_value() == "1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(640, 360)
    page.screenshot(path=str(SCREENSHOTS / "watch.png"))

    # Heartbeats arrive and renew the lease.
    wait_js(page, "window.streamsitePlayer.heartbeats >= 2")
    session = PlaybackSession.objects.get()
    assert session.last_heartbeat_at is not None

    # Trickplay thumbnail over the seek bar (its map loads in the background).
    wait_js(page, "window.streamsitePlayer.cues.length > 0")
    page.evaluate("document.getElementById('player-video').pause()")
    box = page.locator("[data-role=seek]").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.wait_for_selector("[data-role=thumb-image]:not([hidden])")
    page.screenshot(path=str(SCREENSHOTS / "watch-trickplay.png"))
    left_at = page.evaluate("document.getElementById('player-video').currentTime")
    assert left_at > 1.0

    # Leave: the pagehide beacon stops the session and records the position at once.
    page.goto("about:blank")
    # The stop request writes the position first and ends the session second: wait for the
    # second, so the test does not look between the two.
    assert wait_until(page, lambda: PlaybackSession.objects.filter(ended_at__isnull=False).exists())
    session.refresh_from_db()
    assert session.end_reason == "stopped"
    progress = Progress.objects.get()  # catalog's viewing activity: whole seconds
    assert progress.position_seconds == int(left_at)

    # Come back: a new session resumes near the saved position.
    page.goto(f"{live_server.url}/watch/{title.pk}/")
    config = page.evaluate("JSON.parse(document.getElementById('player-config').textContent)")
    assert config["resume_position_seconds"] == pytest.approx(progress.position_seconds)
    wait_js(page, "document.getElementById('player-video').currentTime > 0.3", polling=50)
    resumed_at = page.evaluate("document.getElementById('player-video').currentTime")
    assert abs(resumed_at - left_at) < 2.5
    assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 1

    # A second screen on a one-stream plan: told who is watching, and may stop that stream.
    one_stream = ports.get_entitlements(alice).__class__(
        **{**ports.get_entitlements(alice).__dict__, "max_streams": 1}
    )
    monkeypatch.setattr(ports, "get_entitlements", lambda account: one_stream)
    second = page.context.new_page()
    response = second.goto(f"{live_server.url}/watch/{title.pk}/")
    assert response.status == 409
    assert "Your account is playing on too many screens" in second.inner_text("h1")
    assert "Chrome on Linux" in second.inner_text(".limit-list")
    second.screenshot(path=str(SCREENSHOTS / "watch-limit.png"))
    second.click("text=Stop this stream")
    wait_js(second, "window.streamsitePlayer && window.streamsitePlayer.levels >= 2")
    # The first screen learns at its next heartbeat that its stream was stopped.
    page.wait_for_selector("[data-role=error]:not([hidden])")
    assert page.inner_text("[data-role=error-title]") == "Playback stopped"
    assert errors == []


def test_series_skip_intro_keys_next_episode_still_watching_and_errors(
    live_server, browser_page, settings, tmp_path, hls_source, alice, alice_profile
):
    from tests.playback.sessions.factories import EpisodeFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    first = EpisodeFactory(number=1, name="Pilot", season__title__name="Test Series")
    second = EpisodeFactory(season=first.season, number=2, name="The Return")
    for episode in (first, second):
        shutil.copytree(hls_source, local_asset_folder(f"episode-{episode.pk}"))
    title_id = first.season.title_id
    page = browser_page
    sign_in(page, live_server, alice, alice_profile)
    video = "document.getElementById('player-video')"

    page.goto(f"{live_server.url}/watch/{title_id}/episode/{first.pk}/")
    wait_js(page, f"{video}.currentTime > 0.3")
    # Skip Intro jumps past the intro marker; keys mute and seek.
    page.evaluate(f"{video}.pause(); {video}.currentTime = 0.5")
    page.click("[data-role=skip-intro]")
    assert page.evaluate(f"{video}.currentTime") >= 2.0
    assert page.locator("[data-role=skip-intro]").is_hidden()
    page.evaluate(f"{video}.play()")
    wait_js(page, f"!{video}.paused")
    page.keyboard.press("m")
    assert page.evaluate(f"{video}.muted") is True
    page.keyboard.press("m")
    assert page.evaluate(f"{video}.muted") is False
    page.keyboard.press("Space")
    assert page.evaluate(f"{video}.paused") is True
    before = page.evaluate(f"{video}.currentTime")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(f"{video}.currentTime") == pytest.approx(max(0.0, before - 10), abs=0.05)
    page.keyboard.press("Space")

    # At the credits marker: the next-episode card counts down; "Play now" goes there.
    page.evaluate(f"{video}.currentTime = 6.8")
    page.wait_for_selector("[data-role=next-card]:not([hidden])")
    assert page.inner_text("[data-role=next-name]") == "S1:E2 The Return"
    page.mouse.move(640, 300)
    page.screenshot(path=str(SCREENSHOTS / "watch-next-episode.png"))
    page.click("[data-role=next-play]")
    page.wait_for_url(f"**/watch/{title_id}/episode/{second.pk}/")
    assert page.inner_text(".player-heading") == "Test Series · S1:E2 The Return"
    wait_js(page, f"{video}.currentTime > 0.3")

    # Three episodes advanced on their own: ask before playing a fourth.
    page.evaluate("sessionStorage.setItem('streamsite:auto-advances', '3')")
    page.evaluate("window.streamsitePlayer.stopAndWait()")
    page.reload()
    page.wait_for_selector("[data-role=still-watching]:not([hidden])")
    assert page.evaluate(f"{video}.paused") is True
    page.click("[data-role=still-yes]")
    assert page.locator("[data-role=still-watching]").is_hidden()
    wait_js(page, f"!{video}.paused && {video}.currentTime > 0.3")

    # Missing media: a helpful message with a retry button, never a blank box.
    page.evaluate("window.streamsitePlayer.stopAndWait()")
    for rendition in ("360p", "180p"):
        shutil.rmtree(local_asset_folder(f"episode-{second.pk}") / rendition)
    page.goto(f"{live_server.url}/watch/{title_id}/episode/{second.pk}/")
    page.wait_for_selector("[data-role=error]:not([hidden])", timeout=30_000)
    assert page.inner_text("[data-role=error-title]") == "This video isn't available right now"
    assert page.locator("[data-role=error-retry]").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "watch-error.png"))
