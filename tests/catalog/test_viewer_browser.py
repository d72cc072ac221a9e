"""The viewer's pages in Chromium at phone, tablet and laptop widths, on the demo's own data
(every DEMO_SEEDER, as `make demo` runs them): no Content-Security-Policy violation, no serious
or critical axe-core finding, no sideways scrolling of the page, a header of one or two lines,
row titles above their rows, the Kids profile's simpler navigation, no 404 for a page, a static
file or an icon (/favicon.ico included).

Screenshots of every page at every width go to $STREAMSITE_SCREENSHOTS_DIR (a temp dir by
default) as viewer-<page>-<width>.png; the laptop ones also under the README's names
(landing.png, home.png, ...), so `STREAMSITE_SCREENSHOTS_DIR=$PWD/docs/screenshots` refreshes
the README's pictures on purpose.
"""

from __future__ import annotations

import json
import os
import time
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from django.urls import re_path
from django.utils.module_loading import import_string
from django.views.static import serve

from accounts.models import Profile
from catalog import demo as catalog_demo
from catalog.models import Title
from playback.models import PlaybackSession
from tests.billing.conftest import plans_reseeded  # noqa: F401 (fixture)
from tests.clients import sign_in_browser
from tests.playback.sessions.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    browser_page,
    wait_js,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_ffmpeg,  # the demo's playable test pattern is encoded by ffmpeg
    pytest.mark.django_db(transaction=True),
]

AXE = Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {390: 844, 768: 1024, 1366: 900}  # width: height
README_WIDTH = 1366
FULL_DEMO = bool(os.environ.get("STREAMSITE_DEMO_FULL"))
VIEWER_EMAIL = "viewer@streamsite.localhost"

# Before any page script: collect the page's CSP violations where the test can read them.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' +
      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""
# Lines of the header: its visible items grouped by vertical centre.
HEADER_LINES = """() => {
  const bar = document.querySelector('.topbar');
  if (!bar || bar.offsetParent === null) return 0;
  const items = Array.from(bar.querySelectorAll(
    '.brand, .topnav > *, .nav-search, .topbar-right > *'));
  const centres = items.filter(e => e.getClientRects().length)
    .map(e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; })
    .sort((a, b) => a - b);
  let lines = 0, last = -1e9;
  for (const c of centres) { if (c - last > 16) { lines += 1; } last = c; }
  return lines;
}"""
ROWS_LABELLED_ABOVE = """() => Array.from(document.querySelectorAll('section.row')).filter(s => {
  const h = s.querySelector('h2'), track = s.querySelector('.row-track');
  return h && track && h.getBoundingClientRect().bottom > track.getBoundingClientRect().top + 1;
}).map(s => s.getAttribute('aria-labelledby'))"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def media(request, path: str):
    """The live server serves uploaded artwork as runserver does in `make demo`."""
    return serve(request, path, document_root=django_settings.MEDIA_ROOT)


urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", media),
    *import_module(django_settings.ROOT_URLCONF).urlpatterns,
]


@pytest.fixture
def demo(settings, tmp_path, monkeypatch, plans_reseeded):  # noqa: F811
    """The demo, as `make demo` seeds it (every DEMO_SEEDER), under this test's own media
    folder. The whole demo takes minutes (64 titles' artwork, three clips through the media
    pipeline), so the test draws 26 titles at smaller sizes and encodes one small clip;
    STREAMSITE_DEMO_FULL=1 seeds the whole demo (for the README's screenshots)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(settings.MEDIA_ROOT), "base_url": "/media/"},
        },
    }
    settings.ROOT_URLCONF = __name__
    if not FULL_DEMO:
        monkeypatch.setattr(catalog_demo, "N_TITLES", 26)
        monkeypatch.setattr(catalog_demo, "POSTER_SIZE", (320, 480))
        monkeypatch.setattr(catalog_demo, "BACKDROP_SIZE", (960, 540))
    out = StringIO()
    for dotted in settings.DEMO_SEEDERS:
        seeder = import_string(dotted)
        if dotted == "media.demo.seed" and not FULL_DEMO:  # one small clip, shared by all
            seeder(stdout=out, clips=[("bars", 640, 360, 4)])
        else:
            seeder(stdout=out)
    return settings


def wait_stopped(profile: Profile, timeout: float = 15.0) -> None:
    """Until the player's stop beacon (sent on pagehide) has ended the profile's sessions.
    Waiting for it also keeps the test's next write out of the live server's transaction: an
    in-memory SQLite database shared between threads fails a write at once ("database table
    is locked") instead of waiting for the other's lock."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not PlaybackSession.objects.filter(profile=profile, ended_at__isnull=True).exists():
                return
        except OperationalError:  # the server's stop is writing right now
            pass
        assert time.monotonic() < deadline, "leaving the player did not stop its session"
        time.sleep(0.1)


def signed_in_cookie(page, live_server, profile: Profile) -> None:
    # as if the PIN had been typed
    sign_in_browser(page, live_server, profile.account, profile, pin_ok=profile.has_pin)


class Checks:
    """Everything a page must pass, collected over the whole walk and asserted at the end."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.missing: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)
        page.add_init_script(script=CSP_LISTENER)
        page.add_init_script(path=str(AXE))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"{self.page.url}: console: {message.text}")

    def _response(self, response) -> None:
        # Pages, static files and icons; signed media delivery is the media app's to check
        # (the demo's short clip has no trickplay.vtt, which the player asks for anyway).
        if response.status == 404 and "/media/" not in response.url:
            self.missing.append(response.url)

    def visit(self, name: str, url: str, width: int, *, ready: str = "") -> None:
        page = self.page
        page.set_viewport_size({"width": width, "height": WIDTHS[width]})
        page.goto(url)
        page.wait_for_load_state("load")
        if ready:
            wait_js(page, ready)
        self.check(name, width)
        page.screenshot(path=str(SCREENSHOTS / f"viewer-{name}-{width}.png"))
        if width == README_WIDTH and name != "watch":  # the player's own tests take watch.png
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def check(self, name: str, width: int) -> None:
        page, where = self.page, f"{name} at {width} px"
        for violation in page.evaluate("() => window.__csp"):
            self.problems.append(f"{where}: CSP: {violation}")
        for finding in page.evaluate(AXE_RUN):
            self.problems.append(f"{where}: axe: {finding}")
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            self.problems.append(f"{where}: the page scrolls sideways by {overflow} px")
        lines = page.evaluate(HEADER_LINES)
        if lines > (1 if width >= 1366 else 2):
            self.problems.append(f"{where}: the header takes {lines} lines")
        for row in page.evaluate(ROWS_LABELLED_ABOVE):
            self.problems.append(f"{where}: the title of {row} is not above its row")
        search = page.locator("#nav-q")
        if search.count() and search.bounding_box()["width"] < 150:
            self.problems.append(f"{where}: the header's search box is cut down")


def test_viewer_pages_at_three_widths(live_server, browser_page, demo):  # noqa: F811
    page = browser_page
    url = live_server.url
    checks = Checks(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sam = Profile.objects.get(account__email=VIEWER_EMAIL, name="Sam")
    kids = Profile.objects.get(account__email=VIEWER_EMAIL, name="Kids")
    series = (
        Title.objects.filter(kind="series", seasons__episodes__isnull=False, maturity_level__lte=20)
        .distinct()
        .order_by("-view_count", "pk")
        .first()
    )
    word = series.name.split()[-1]
    typo = word[:2] + ("a" if word[2].lower() != "a" else "e") + word[3:]  # one letter changed

    for width in WIDTHS:
        page.context.clear_cookies()
        checks.visit("landing", f"{url}/", width)
        checks.visit("signup", f"{url}/signup/", width)
        signed_in_cookie(page, live_server, sam)
        checks.visit("profiles", f"{url}/profiles/", width)
        checks.visit("plans", f"{url}/plans/", width)
        checks.visit("home", f"{url}/", width)
        checks.visit("title", f"{url}/title/{series.slug}", width)
        watch = page.get_attribute("#play-button", "href")  # the demo clip the title shares
        assert watch.startswith("/watch/"), watch
        checks.visit(
            "search",
            f"{url}/search?q={typo}",
            width,
            ready=f"document.getElementById('search-results').innerText.includes({json.dumps(series.name)})",
        )
        checks.visit("billing", f"{url}/account/billing/", width)
        checks.visit(
            "watch",
            f"{url}{watch}",
            width,
            ready="window.streamsitePlayer && window.streamsitePlayer.levels >= 1",
        )
        page.goto("about:blank")  # leave the player: its stream stops
        wait_stopped(sam)
        signed_in_cookie(page, live_server, kids)
        checks.visit("kids-home", f"{url}/", width)
        nav = page.inner_text(".topnav")
        assert "Kids" in nav and "Home" in nav, nav
        assert "Genres" not in nav and "A–Z" not in nav and "History" not in nav, nav

    assert checks.problems == []
    assert checks.missing == []
    assert errors == []
    # The home page really shows each title once (the demo profile's rows).
    signed_in_cookie(page, live_server, sam)
    page.goto(f"{url}/")
    cards = page.eval_on_selector_all("main a.card", "els => els.map(e => e.getAttribute('href'))")
    assert len(cards) >= 12 and len(cards) == len(set(cards))
