"""The whole viewer journey in a real browser, as a new user: landing -> sign up -> verify the
address from the email -> sign in -> pick a profile -> browse -> search with a typo -> My List
and thumbs -> play (adaptive HLS really plays) -> leave -> come back -> resume. Screenshots of
the main pages go to $STREAMSITE_SCREENSHOTS_DIR (a temp dir by default; 1280x720)."""

from __future__ import annotations

import re
import shutil

import pytest
from django.core import mail

from accounts.models import User
from catalog.services.search_index import search_index_drain
from playback.models import MyListEntry, PlaybackSession, Progress, ThumbRating
from playback.ports import local_asset_folder
from tests.catalog.factories import GenreFactory, TitleFactory
from tests.playback.sessions.conftest import subscribe
from tests.playback.sessions.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    browser_page,
    hls_source,
    wait_js,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.getElementById('player-video')"
PASSWORD = "correct-Horse-battery-9"


@pytest.fixture
def catalogue(settings, tmp_path, hls_source):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    drama = GenreFactory(name="Drama", slug="drama")
    comedy = GenreFactory(name="Comedy", slug="comedy")
    kingdom = TitleFactory(
        name="Paper Kingdom",
        synopsis="A mapmaker draws a country that starts to exist.",
        year=2024,
        rating="PG",
        genres=[drama],
    )
    shutil.copytree(hls_source, local_asset_folder(f"title-{kingdom.pk}"))
    for name, genre in [
        ("Night Harbor", drama),
        ("Harbor Lights", comedy),
        ("Glass Coast", drama),
        ("Salt Road", comedy),
        ("Quiet Engines", comedy),
    ]:
        TitleFactory(name=name, genres=[genre], rating="PG-13")
    search_index_drain()
    return kingdom


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_new_viewer_signs_up_finds_a_title_watches_leaves_and_resumes(
    live_server,
    browser_page,  # noqa: F811
    catalogue,
):
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    url = live_server.url

    # Landing: what it is, the plans with prices, and a real sign-in link.
    page.goto(f"{url}/")
    assert page.locator(".plan-card h3").all_inner_texts() == ["Basic", "Standard", "Premium"]
    assert page.get_attribute("a:text-is('Sign in')", "href") == "/login/"
    shot(page, "landing")

    # Sign up, then verify the address with the link from the email.
    page.click("a:text-is('Sign up')")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=profile_name]", "Dana")
    page.click("button:text-is('Sign up')")
    page.wait_for_url("**/signup/done/")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/verify/\S+/", mail.outbox[0].body)
    assert link is not None
    page.goto(url + "/verify/" + link.group(0).split("/verify/", 1)[1])
    page.wait_for_url("**/login/**")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text-is('Sign in')")
    page.wait_for_url("**/profiles/**")
    dana = User.objects.get(email="dana@example.com")
    subscribe(dana, "standard")  # checkout itself is billing's own journey
    shot(page, "profiles")

    # Pick the profile: a new profile is offered onboarding first; skipped, home with its rows.
    page.click("button.profile-tile:has-text('Dana')")
    page.wait_for_url("**/onboarding/")
    page.click("a:text-is('Skip for now')")
    page.wait_for_url(f"{url}/")
    assert "Nothing to watch here yet" not in page.inner_text("main")
    assert page.locator("section.row .row-track a.card").count() >= 4
    assert "Nothing saved yet" in page.inner_text("#row-mylist + p")
    shot(page, "home")

    # Search as you type finds the title despite a typo.
    page.goto(f"{url}/search")
    page.locator("#q").press_sequentially("Paper Kingdon", delay=30)
    wait_js(page, "document.getElementById('search-results').innerText.includes('Paper Kingdom')")
    shot(page, "search")
    page.click("#search-results a.card:has-text('Paper Kingdom')")
    page.wait_for_url("**/title/**")

    # My List and thumbs.
    page.click("button:has-text('+ My List')")
    page.wait_for_selector("button:has-text('In My List')")
    page.click("button:has-text('Like')")
    page.wait_for_selector("button.active:has-text('Like')")
    profile = dana.profiles.get()
    assert list(MyListEntry.objects.values_list("profile_id", "title_id")) == [
        (profile.pk, catalogue.pk)
    ]
    assert list(ThumbRating.objects.values_list("profile_id", "value")) == [(profile.pk, 1)]
    shot(page, "title")

    # Play: hls.js has both renditions and the video really advances.
    page.click("#play-button")
    page.wait_for_url(f"**/watch/{catalogue.pk}/")
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.levels >= 2")
    wait_js(page, f"{VIDEO}.currentTime > 2.2")
    page.evaluate(f"{VIDEO}.pause()")
    left_at = page.evaluate(f"{VIDEO}.currentTime")
    page.mouse.move(640, 360)
    shot(page, "watch")

    # Leave: the position lands in catalog's viewing activity.
    page.goto("about:blank")
    assert wait_until(page, lambda: Progress.objects.filter(profile=profile).exists())
    # The stop beacon ends the session; under load it can land after the progress write.
    assert wait_until(
        page, lambda: not PlaybackSession.objects.filter(ended_at__isnull=True).exists()
    )
    saved = Progress.objects.get(profile=profile)
    assert saved.position_seconds == int(left_at)

    # Come back: the title page offers Resume at that point, and the player starts there.
    page.goto(f"{url}/title/{catalogue.slug}")
    assert page.inner_text("#play-button") == "▶ Resume"
    page.click("#play-button")
    page.wait_for_selector("#player-config", state="attached")  # the watch page, not the title's
    config = page.evaluate("JSON.parse(document.getElementById('player-config').textContent)")
    assert config["resume_position_seconds"] == saved.position_seconds
    wait_js(page, f"{VIDEO}.currentTime > 0.3", polling=50)
    assert abs(page.evaluate(f"{VIDEO}.currentTime") - left_at) < 2.5
    assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 1
    assert errors == []
