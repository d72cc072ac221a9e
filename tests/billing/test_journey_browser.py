"""Issue #7's "Done when", in a real browser: a new visitor picks a plan, pays with a sandbox
test card, streams within the plan's limits, upgrades with the right proration, and a failed
card walks through dunning to a blocked account.

Debian's Chromium driven by Playwright against pytest-django's live server (same process, so
the test moves the billing clock with `billing.clock.set_now` and runs the beat tasks
`run_renewals` / `run_dunning` in-process). The title's real HLS ladder (made with ffmpeg) has
360p, 720p and 1080p rungs. One screenshot per step goes to $STREAMSITE_SCREENSHOTS_DIR (a temp
dir by default), named journey-NN-<step>.png.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
from django.core import mail

from accounts.models import User
from billing import money, services
from billing.entitlements import get_entitlements
from billing.models import Invoice, Subscription
from billing.tasks import run_dunning, run_renewals
from playback.demo.clip import make_hls_asset
from playback.models import PlaybackSession, QoeSession
from playback.ports import local_asset_folder
from tests.playback.sessions.factories import TitleFactory
from tests.playback.sessions.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    browser_page,
    wait_js,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-Horse-battery-9"
BASIC, PREMIUM = 799, 2299  # USD cents
SIGNUP = datetime(2026, 4, 1, 12, tzinfo=UTC)  # 7-day trial: first renewal on 8 Apr
LADDER = (("1080p", 1920, 1080, "1200k"), ("720p", 1280, 720, "700k"), ("360p", 640, 360, "300k"))
VIDEO = "document.getElementById('player-video')"
HEIGHTS = "window.streamsitePlayer.hls.levels.map(function (l) { return l.height; })"


def on(day: int, month: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture(scope="session")
def ladder_source(tmp_path_factory):
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is required (apt-get install ffmpeg; see .ci/packages.sh)")
    return make_hls_asset(
        tmp_path_factory.mktemp("ladder") / "source", seconds=8, renditions=LADDER
    )


@pytest.fixture
def film(settings, tmp_path, ladder_source):
    settings.MEDIA_ROOT = tmp_path / "media"
    title = TitleFactory(name="Paper Kingdom", slug="paper-kingdom")
    shutil.copytree(ladder_source, local_asset_folder(f"title-{title.pk}"))
    return title


class Steps:
    """Numbered screenshots, so the folder reads as the journey."""

    def __init__(self, page) -> None:
        self.page, self.n = page, 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str, page=None) -> None:
        self.n += 1
        (page or self.page).screenshot(path=str(SCREENSHOTS / f"journey-{self.n:02d}-{name}.png"))


def usd(cents: int) -> str:
    return money.format_money(cents, "USD")


def play(page, url: str) -> str:
    """Open the watch page, wait until the video really advances; the master playlist text."""
    with page.expect_response(lambda r: "/master.m3u8" in r.url) as master:
        page.goto(url)
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.levels >= 1")
    wait_js(page, f"{VIDEO}.currentTime > 0.5")
    return master.value.text()


def streams_stopped(page) -> bool:
    """Every stream ended (leaving the player sends its stop beacon), and the beacon's request
    done. Its last QoE report is written just after the session is marked ended, in a
    transaction of its own stamped with the same time; SQLite's shared test database refuses a
    write made meanwhile ("database table is locked"), so the test waits for that report too,
    within a bound: a beacon may carry none."""
    if not wait_until(page, lambda: not PlaybackSession.objects.filter(ended_at=None).exists()):
        return False
    last = PlaybackSession.objects.order_by("-ended_at").first()
    if last is not None:
        wait_until(
            page,
            lambda: QoeSession.objects.filter(session=last, updated_at=last.ended_at).exists(),
            timeout_ms=3_000,
        )
    return True


def quality_menu(page) -> list[str]:
    return page.locator("[data-role=quality] option").all_inner_texts()[1:]  # after "Auto"


def billing_lines(page) -> list[tuple[str, str]]:
    rows = page.locator(".preview table.lines tr")
    return [tuple(rows.nth(i).locator("td").all_inner_texts()) for i in range(rows.count())]


def test_new_visitor_pays_streams_upgrades_and_a_failed_card_ends_in_a_blocked_account(
    live_server,
    browser_page,  # noqa: F811
    frozen_clock,
    plans_reseeded,
    film,
):
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    url = live_server.url
    watch_url = f"{url}/watch/{film.pk}/"
    steps = Steps(page)
    frozen_clock.set(SIGNUP)

    # --- A new visitor signs up and confirms the address with the link from the email.
    page.goto(f"{url}/signup/")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=profile_name]", "Dana")
    page.click("button:text-is('Sign up')")
    page.wait_for_url("**/signup/done/")
    link = re.search(r"/verify/\S+/", mail.outbox[0].body)
    assert link is not None
    page.goto(url + link.group(0))
    page.wait_for_url("**/login/**")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text-is('Sign in')")
    page.wait_for_url("**/profiles/**")
    page.click("button.profile-tile:has-text('Dana')")
    # An account without a plan is led to the plan picker, the recommended plan preselected.
    page.wait_for_url("**/plans/?welcome=1")
    assert page.locator(".plan-card.recommended h2").all_inner_texts() == ["Standard"]
    assert page.get_attribute("a:text-is('Browse first, choose later')", "href") == "/start/"
    dana = User.objects.get(email="dana@example.com")

    # --- Picks Basic: account menu -> Plan & billing -> See plans -> Choose Basic.
    page.click(".account-menu summary")
    page.click("a:text-is('Plan & billing')")
    page.wait_for_url("**/account/billing/")
    assert "You have no plan yet" in page.inner_text("main")
    page.click("a:text-is('See plans')")
    page.wait_for_url("**/plans/")
    assert page.locator(".plan-card h2").all_inner_texts() == ["Basic", "Standard", "Premium"]
    basic = page.locator(".plan-card", has_text="Basic")
    assert basic.locator(".price").inner_text() == "$7.99/month"
    assert "Up to 720p" in basic.inner_text() and "1 screen at a time" in basic.inner_text()
    steps.shot("plans")
    page.click("a:text-is('Choose Basic')")
    page.wait_for_url("**/plans/basic/checkout/**")

    # --- Checks out with the sandbox Visa: a 7-day trial, then the renewal is paid.
    assert "free for 7 days, then charged monthly" in page.inner_text(".lead")
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#exp_month", "12")
    page.fill("#exp_year", "2030")
    page.fill("#cvc", "123")
    steps.shot("checkout")
    page.click("button:text-is('Start free trial')")
    page.wait_for_url("**/account/billing/")
    panel = page.inner_text(".panel")
    assert "Welcome to Basic!" in page.inner_text(".messages")
    assert "Basic Trialing" in panel and "Free trial until 8 Apr 2026." in panel
    assert f"Next bill: {usd(BASIC)} on 8 Apr 2026." in panel
    assert "Visa ending in 4242" in page.inner_text("main")
    steps.shot("trialing")
    frozen_clock.set(on(8, 4))  # the trial ends: the beat task renews and charges $7.99
    assert run_renewals() == 1
    page.reload()
    assert "Basic Active" in page.inner_text(".panel")
    assert f"Next bill: {usd(BASIC)} on 8 May 2026." in page.inner_text(".panel")
    invoices = page.locator("table.invoices tbody tr")
    assert invoices.count() == 1
    assert invoices.nth(0).locator("td").all_inner_texts()[2:4] == ["Paid", usd(BASIC)]
    steps.shot("active")

    # --- Opens the title and plays it: Basic's master playlist stops at 720p.
    page.goto(f"{url}/title/{film.slug}")
    with page.expect_response(lambda r: "/master.m3u8" in r.url) as master:
        page.click("#play-button")
    page.wait_for_url(f"**/watch/{film.pk}/")
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.levels >= 1")
    wait_js(page, f"{VIDEO}.currentTime > 0.5")
    playlist = master.value.text()
    assert "RESOLUTION=1280x720" in playlist and "RESOLUTION=1920x1080" not in playlist
    assert page.evaluate(HEIGHTS) == [360, 720]
    assert quality_menu(page) == ["720p", "360p"]
    page.mouse.move(640, 360)
    steps.shot("basic-plays-720p")

    # A second screen is one more than Basic allows: refused, with the reason.
    second = page.context.new_page()
    refused = second.goto(watch_url)
    assert refused.status == 409
    assert second.inner_text("h1") == "Your account is playing on too many screens"
    assert "Your plan allows 1 stream at a time" in second.inner_text(".lead")
    assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 1
    steps.shot("second-screen-refused", second)
    second.close()

    # --- Upgrades to Premium halfway through the period: the preview is the proration.
    frozen_clock.set(on(23, 4))
    page.goto(f"{url}/account/billing/")  # leaving the player stops its stream
    assert streams_stopped(page)
    expected = services.proration_for(
        old_amount=BASIC,
        new_amount=PREMIUM,
        currency="USD",
        period_start=on(8, 4),
        period_end=on(8, 5),
        at=on(23, 4),
    )
    # 15 of 30 days: -3.995 -> -4.00 and +11.495 -> +11.50 (halves away from zero): 7.50.
    assert (expected.credit, expected.debit, expected.total) == (-400, 1150, 750)
    page.select_option("#preview", "premium")
    page.click("button:text-is('Preview')")
    page.wait_for_url("**/account/billing/?preview=premium")
    assert billing_lines(page) == [
        ("Unused time on Basic", usd(expected.credit)),
        ("Remaining time on Premium", usd(expected.debit)),
        ("Charged now", usd(expected.total)),
    ]
    assert billing_lines(page)[-1] == ("Charged now", "$7.50")
    steps.shot("upgrade-preview")
    page.click("button:text-is('Confirm change')")
    page.wait_for_url("**/account/billing/")
    assert "Your plan has been changed." in page.inner_text(".messages")
    assert "Premium Active" in page.inner_text(".panel")
    upgrade = Invoice.objects.get(account=dana, kind="upgrade")
    assert (upgrade.status, upgrade.total) == ("paid", expected.total)
    assert list(upgrade.lines.order_by("position").values_list("amount", flat=True)) == [
        expected.credit,
        expected.debit,
    ]
    first_row = page.locator("table.invoices tbody tr").nth(0).locator("td").all_inner_texts()
    assert first_row[0] == upgrade.number and first_row[2:4] == ["Paid", "$7.50"]
    steps.shot("premium")

    # The player may now offer the 1080p rung.
    playlist = play(page, watch_url)
    assert "RESOLUTION=1920x1080" in playlist
    assert page.evaluate(HEIGHTS) == [360, 720, 1080]
    assert quality_menu(page) == ["1080p", "720p", "360p"]
    page.mouse.move(640, 360)
    steps.shot("premium-plays-1080p")

    # --- The card is changed, on the billing page, to one that is always declined.
    page.goto(f"{url}/account/billing/")
    page.click("summary:text-is('Use another card')")
    page.fill("#number", "4000 0000 0000 0002")
    page.fill("#exp_month", "12")
    page.fill("#exp_year", "2030")
    page.fill("#cvc", "123")
    page.click("button:text-is('Save card')")
    page.wait_for_url("**/account/billing/")
    assert "Your card has been updated." in page.inner_text(".messages")
    assert "Visa ending in 0002" in page.inner_text("main")
    steps.shot("failing-card")

    # --- Renewal day: $22.99 is declined. Past due, the retry date shown, still streaming.
    frozen_clock.set(on(8, 5))
    assert run_renewals() == 1
    page.reload()
    assert "Premium Past due" in page.inner_text(".panel")
    assert page.inner_text("[data-role=dunning]") == (
        f"Your last payment of {usd(PREMIUM)} failed. We will try your card again on 9 May 2026. "
        "You can keep watching until 13 May 2026. Update your card and pay the open invoice "
        "below to keep watching."
    )
    renewal = Invoice.objects.get(account=dana, kind="renewal", total=PREMIUM)
    assert renewal.next_attempt_at == on(9, 5)
    first_row = page.locator("table.invoices tbody tr").nth(0)
    assert first_row.locator("td").all_inner_texts()[2:4] == ["Open", usd(PREMIUM)]
    assert first_row.locator("button:text-is('Pay now')").is_visible()
    steps.shot("past-due")
    play(page, watch_url)  # grace: the plan's limits still hold
    assert page.evaluate(HEIGHTS) == [360, 720, 1080]
    steps.shot("grace-still-streams")
    page.goto(f"{url}/account/billing/")
    assert streams_stopped(page)

    # Retries on 9 and 11 May are declined; the one on 13 May too, and the grace is over.
    for day in (9, 11, 13):
        frozen_clock.set(on(day, 5))
        assert run_dunning() == 1
    page.reload()
    overdue = get_entitlements(dana).reason
    assert overdue == (
        "Your payment is overdue. Update your card on the billing page to keep watching."
    )
    assert overdue in page.inner_text(".panel")
    assert "We will try your card again on 15 May 2026." in page.inner_text("[data-role=dunning]")
    steps.shot("grace-over")
    blocked = page.goto(watch_url)
    assert (blocked.status, page.inner_text("main p")) == (403, overdue)
    page.goto(f"{url}/account/billing/")

    # The last retry (15 May) is declined: canceled, the invoice uncollectible, playback refused.
    frozen_clock.set(on(15, 5))
    assert run_dunning() == 1
    page.reload()
    assert Subscription.objects.get(account=dana).status == "canceled"
    panel = page.inner_text(".panel")
    reason = get_entitlements(dana).reason
    assert reason == "Your subscription was canceled. Pick a plan to come back."
    assert "Premium Canceled" in panel and reason in panel
    assert page.locator("a:text-is('Pick a plan to come back')").is_visible()
    first_row = page.locator("table.invoices tbody tr").nth(0).locator("td").all_inner_texts()
    assert first_row[2:4] == ["Uncollectible", usd(PREMIUM)]
    assert [m.subject for m in mail.outbox[1:]] == [
        "Your Streamsite payment failed",
        "Your Streamsite payment failed",
        "Your Streamsite payment failed",
        "Your Streamsite payment failed",
        "Your Streamsite subscription was canceled",
    ]
    steps.shot("canceled")
    sessions = PlaybackSession.objects.count()
    blocked = page.goto(watch_url)
    assert blocked.status == 403
    assert page.inner_text("main p") == reason
    assert page.get_attribute("a:text-is('Go to billing')", "href") == "/account/billing/"
    assert PlaybackSession.objects.count() == sessions  # refused before any session starts
    steps.shot("playback-refused")
    assert errors == []
