"""The narrowest phones in Chromium: at 320 px (the width WCAG's reflow rule, 1.4.10, asks
for) and 390 px no page scrolls sideways, with its menus open: the header signed out (in each
of the site's languages) and signed in, the genre menu, the account pages' row of sections, a
long address."""

from __future__ import annotations

import pytest

from tests.catalog.factories import GenreFactory, ProfileFactory, TitleFactory, UserFactory
from tests.clients import sign_in_browser
from tests.playback.sessions.test_browser import browser_page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = (320, 390)
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
OPEN_MENUS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"


@pytest.fixture
def catalogue():
    """Enough genres, with long enough names, to fill the genre menu's two columns."""
    names = ["Documentary", "Psychological Thriller", "Animation", "Science Fiction"]
    names += ["Romantic Comedy", "Adventure", "Crime", "Family", "Musical", "Western"]
    for i, name in enumerate(names):
        genre = GenreFactory(name=name, slug=f"g{i}")
        TitleFactory(name=f"A title of {name}", genres=[genre])


def fits(page, url: str) -> int:
    """How far `url` scrolls sideways, every menu of the page open."""
    assert page.goto(url).status == 200, url
    page.evaluate(OPEN_MENUS)
    return page.evaluate(OVERFLOW)


def test_pages_fit_the_narrowest_phones(live_server, browser_page, catalogue):  # noqa: F811
    page = browser_page
    viewer = UserFactory(email="a.rather.long.address@streamsite.localhost")
    sam = ProfileFactory(account=viewer, name="Sam")
    staff = UserFactory(
        email="operations.on.call@streamsite.localhost", is_staff=True, is_superuser=True
    )
    url = live_server.url
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 700})
        page.context.clear_cookies()
        # Signed out, the header holds Sign in and Sign up, longest in German ("Anmelden",
        # "Registrieren"): it wraps rather than widening the page (90 px too wide at 390 px).
        for language in ("de", "es", "en"):
            page.set_extra_http_headers({"Accept-Language": language})
            for path in ("/", "/search?q=title", "/login/"):
                assert fits(page, url + path) == 0, f"signed out, {language}, {path} at {width} px"
            assert page.locator("html").get_attribute("lang") == language
        sign_in_browser(page, live_server, viewer, sam)
        for path in ("/search?q=title", "/account/", "/account/security/"):
            assert fits(page, url + path) == 0, f"Sam, {path} at {width} px"
        # the open genre menu lies within the screen
        page.goto(f"{url}/search?q=title")
        page.click(".genre-menu summary")
        menu = page.locator(".genre-menu ul").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= width, (width, menu)
        assert page.locator(".genre-menu li").count() == 10
        # Staff with no profile: "Admin" ("Administración") and the address beside the brand;
        # long German headings ("Zwei-Faktor-Authentifizierung", "Abdeckungszonen
        # importieren") and buttons ("Bearbeiten") beside a profile.
        sign_in_browser(page, live_server, staff)
        ProfileFactory(account=staff, name="Ops")
        for language in ("de", "es", "en"):
            page.set_extra_http_headers({"Accept-Language": language})
            for path in (
                "/account/",
                "/account/security/",
                "/profiles/manage/",
                "/cdn/coverage-import",
                "/search?q=title",
            ):
                assert fits(page, url + path) == 0, f"staff, {language}, {path} at {width} px"
            assert page.locator("html").get_attribute("lang") == language
        staff.profiles.all().delete()
    # at 320 px the account's sections scroll in their own row
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(f"{url}/account/")
    assert page.locator(".settings-nav").evaluate("el => el.scrollWidth > el.clientWidth")
