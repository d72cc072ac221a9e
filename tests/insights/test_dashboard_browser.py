"""In a real browser under the site's real CSP: the dashboard renders its charts with no CSP
violation and no script error (and leaves a screenshot for the docs)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from insights.models import DailyEdge, DailyQoe, DailyTotals
from recommendations.models import ModelVersion
from tests.factories import UserFactory
from tests.playback.sessions import test_browser as shared

browser_page = shared.browser_page

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_renders_under_the_real_csp(live_server, browser_page, staff):
    now = timezone.now()
    today = now.astimezone(UTC).date()
    for back in range(30):
        day = today - timedelta(days=back)
        DailyTotals.objects.create(
            day=day,
            plays=400 + 10 * back,
            viewers=150 + back,
            watched_ms=(300 + back) * 3_600_000,
            peak_streams=40 + back,
            updated_at=now,
        )
        DailyQoe.objects.create(
            day=day,
            dimension="all",
            key="all",
            sessions=380,
            started=370,
            startup_p50_ms=700 + back,
            startup_p95_ms=2000 + 20 * back,
            played_ms=10**9,
            stall_ms=10**7,
            bitrate_kbps_ms=2500 * 10**9,
        )
        DailyEdge.objects.create(
            day=day,
            edge="par-1",
            requests=10**6,
            lookups=10**6,
            hits=900_000,
            bytes=10**12,
            lookup_bytes=10**12,
            hit_bytes=9 * 10**11,
            origin_bytes=10**11,
        )
    page = browser_page
    violations: list[str] = []
    # A CSP violation is reported on the console ("Refused to apply inline style ...").
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda exc: violations.append(str(exc)))
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    client = Client()
    client.force_login(staff)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    response = page.goto(f"{live_server.url}/staff/")
    assert response.status == 200
    assert "default-src" in response.headers["content-security-policy"]
    # 4 viewing, 2 QoE trends, 2 delivery and the transcode queue (always rows, zeros here).
    assert page.locator("figure.ins-chart svg").count() == 9
    assert page.locator("#chart-viewing svg rect").count() == 31  # background + 30 days
    page.screenshot(path=str(shared.SCREENSHOTS / "staff-dashboard.png"), full_page=True)
    assert missing == []
    assert violations == []


def test_staff_pages_fit_a_phone(live_server, browser_page):
    """At 390 px neither a long staff address in the top bar nor a table wider than the screen
    (the models table, once a model exists) makes the page scroll sideways: the address is cut
    short and the table scrolls inside its own box."""
    staff = UserFactory(
        email="operations.on.call@streamsite.localhost", is_staff=True, is_superuser=True
    )
    ModelVersion.objects.create(
        algorithm="twostage",
        status=ModelVersion.Status.LIVE,
        n_interactions=123_456_789,
        metrics={"test": {"ndcg@10": 0.123456789, "recall@10": 0.987654321}},
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    client = Client()
    client.force_login(staff)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    for path in ("/staff/", "/cdn/sites"):
        assert page.goto(f"{live_server.url}{path}").status == 200
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        assert page.evaluate(overflow) == 0, path
        address = page.locator(".account-menu summary span")
        assert address.get_attribute("title") == staff.email
        # cut short: the address is wider than the box that shows it
        assert address.evaluate("el => el.scrollWidth > el.clientWidth")
    page.goto(f"{live_server.url}/staff/")
    table = page.locator("#chart-models .ins-table-wrap")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    # the table is wider than its box, which scrolls
    assert table.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.evaluate(overflow) == 0
