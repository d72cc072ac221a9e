"""The staff dashboard, its CSV downloads and staff API: who may see them, and what they say."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from insights.models import (
    DailyEdge,
    DailyQoe,
    DailyRevenue,
    DailyTotals,
    StreamSample,
    TopTitle,
)
from tests.factories import UserFactory
from tests.playback.sessions.factories import TitleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plain_staff(db):
    """Staff without the dashboard permission."""
    return UserFactory(email="editor@example.com", is_staff=True)


@pytest.fixture
def operator(db):
    user = UserFactory(email="ops@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return user


@pytest.fixture
def finance(db):
    """The dashboard and the revenue permission (the Finance role holds both)."""
    user = UserFactory(email="finance@example.com", is_staff=True)
    for codename in ("view_dashboard", "view_revenue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def holder_not_staff(db):
    """Holds the permission but is not staff (a former employee): still refused."""
    user = UserFactory(email="former@example.com")
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return user


@pytest.fixture
def rollups():
    now = timezone.now()
    today = now.astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    DailyTotals.objects.create(
        day=today, plays=12, viewers=5, watched_ms=9_000_000, peak_streams=4, updated_at=now
    )
    DailyTotals.objects.create(
        day=yesterday, plays=30, viewers=11, watched_ms=36_000_000, peak_streams=7, updated_at=now
    )
    DailyQoe.objects.create(
        day=today,
        dimension="edge",
        key="par-1",
        sessions=10,
        started=9,
        exits_before_start=1,
        errored=2,
        startup_p50_ms=800,
        startup_p95_ms=2400,
        played_ms=95000,
        stall_ms=5000,
        bitrate_kbps_ms=95000 * 1500,
    )
    DailyQoe.objects.create(
        day=today,
        dimension="edge",
        key="ams-1",
        sessions=4,
        started=4,
        startup_p50_ms=600,
        startup_p95_ms=900,
        played_ms=40000,
        bitrate_kbps_ms=40000 * 3000,
    )
    DailyQoe.objects.create(
        day=today,
        dimension="all",
        key="all",
        sessions=14,
        started=13,
        startup_p50_ms=700,
        startup_p95_ms=2400,
        played_ms=135000,
        stall_ms=5000,
        bitrate_kbps_ms=95000 * 1500 + 40000 * 3000,
    )
    DailyEdge.objects.create(
        day=today,
        edge="par-1",
        requests=200,
        lookups=180,
        hits=153,
        bytes=4_000_000_000,
        lookup_bytes=3_600_000_000,
        hit_bytes=3_240_000_000,
        origin_bytes=400_000_000,
    )
    DailyRevenue.objects.create(
        day=today, currency="USD", mrr=123_456, churn_30d=0.0213, ended_30d=3
    )
    StreamSample.objects.create(at=now.replace(second=0, microsecond=0), streams=4)
    for rank, (name, plays) in enumerate([("Heist", 40), ("Comedy", 25)], start=1):
        TopTitle.objects.create(day=today, country="FR", rank=rank,
                                title=TitleFactory(name=name), plays=plays,
                                watched_ms=plays * 1_800_000)  # fmt: skip
    return today, yesterday


def _client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "page", "csv_file"),
    [
        (None, 302, 302),
        ("alice", 302, 302),  # not staff: to the staff sign-in, as every staff page
        ("plain_staff", 403, 403),
        ("holder_not_staff", 302, 302),
        ("operator", 200, 200),
        ("staff", 200, 200),  # a superuser holds every permission
    ],
)
def test_page_and_csv_authorisation_matrix(request, who, page, csv_file):
    user = request.getfixturevalue(who) if who else None
    client = _client(user)
    response = client.get("/staff/")
    assert response.status_code == page
    if page == 302:
        assert response["Location"].startswith("/admin/login/?next=/staff/")
    assert client.get("/staff/charts/viewing.csv").status_code == csv_file


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 403),
        ("alice", 403),
        ("plain_staff", 403),
        ("holder_not_staff", 403),
        ("operator", 200),
        ("staff", 200),
    ],
)
def test_staff_api_authorisation_matrix(request, who, status):
    client = APIClient()
    if who:
        client.force_authenticate(request.getfixturevalue(who))
    response = client.get("/api/v1/staff/charts/edges")
    assert response.status_code in ((401, 403) if status == 403 else (status,))
    listing = client.get("/api/v1/staff/charts")
    assert listing.status_code == response.status_code
    if status == 200:  # the chart itself, and the list naming it
        assert response.json()["name"] == "edges" and "edges" in listing.json()
    else:  # the one error shape, and nothing of the dashboard in it
        assert set(response.json()) == {"error"} and set(listing.json()) == {"error"}


def test_the_page_shows_today_and_server_rendered_charts_without_inline_styles(finance, rollups):
    response = _client(finance).get("/staff/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html
    # Charts with rows to draw: 4 viewing, 2 QoE trends, QoE by edge, 2 delivery, transcodes,
    # revenue (no models, no QoE by site, title or device: their tables are empty).
    assert html.count("<svg") == 11
    assert ' style="' not in html and "<script>" not in html
    assert "hours watched today" in html
    assert '<span class="ins-card-value">2</span><span class="ins-card-label">hours watched' in html
    assert '<span class="ins-card-value">4</span><span class="ins-card-label">streams now' in html
    assert "$1,234.56" in html
    assert 'href="/admin/billing/subscription/revenue/"' in html
    assert 'href="/staff/charts/qoe-edge.csv"' in html


def test_csv_files_carry_the_rollups_exactly(operator, rollups):
    today, yesterday = rollups
    client = _client(operator)

    response = client.get("/staff/charts/viewing.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="viewing.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "hours_watched", "plays", "unique_viewers", "peak_streams"]
    assert len(rows) == 31
    assert rows[-2:] == [
        [yesterday.isoformat(), "10.0", "30", "11", "7"],
        [today.isoformat(), "2.5", "12", "5", "4"],
    ]
    assert rows[1][1:] == ["0.0", "0", "0", "0"]

    rows = list(csv.reader(io.StringIO(client.get("/staff/charts/qoe-edge.csv").content.decode())))
    assert rows == [
        [
            "key",
            "sessions",
            "video_start_p50_ms",
            "video_start_p95_ms",
            "rebuffering_pct",
            "average_kbps",
            "error_rate_pct",
            "exits_before_start",
        ],
        ["par-1", "10", "800", "2400", "5.0", "1500", "20.0", "1"],
        ["ams-1", "4", "600", "900", "0.0", "3000", "0.0", "0"],
    ]

    top = client.get("/staff/charts/top-titles.csv").content.decode()
    assert list(csv.reader(io.StringIO(top))) == [
        ["country", "rank", "title", "plays", "hours_watched"],
        ["FR", "1", "Heist", "40", "20.0"],
        ["FR", "2", "Comedy", "25", "12.5"],
    ]

    rows = list(csv.reader(io.StringIO(client.get("/staff/charts/edges.csv").content.decode())))
    assert rows[1] == ["par-1", "200", "85.0", "90.0", "4.0", "90.0", "0"]


def test_the_api_gives_the_same_numbers_and_404_for_an_unknown_chart(operator, rollups):
    client = APIClient()
    client.force_authenticate(operator)
    body = client.get("/api/v1/staff/charts/qoe-edge").json()
    assert body["name"] == "qoe-edge"
    assert body["rows"][0] == ["par-1", 10, 800, 2400, 5.0, 1500, 20.0, 1]
    assert client.get("/api/v1/staff/charts/nope").status_code == 404
    assert _client(operator).get("/staff/charts/nope.csv").status_code == 404
    assert "viewing" in client.get("/api/v1/staff/charts").json()


def test_money_needs_the_revenue_permission_on_the_page_csv_and_api(operator, finance, rollups):
    """Operations sees how the service plays, not what it earns: the revenue chart, the MRR
    card and the link to the revenue admin are Finance's."""
    ops_page = _client(operator).get("/staff/").content.decode()
    assert "$1,234.56" not in ops_page and "/admin/billing/subscription/revenue/" not in ops_page
    assert 'href="/staff/charts/revenue.csv"' not in ops_page
    assert _client(operator).get("/staff/charts/revenue.csv").status_code == 403
    api = APIClient()
    api.force_authenticate(operator)
    assert api.get("/api/v1/staff/charts/revenue").status_code == 403
    assert "revenue" not in api.get("/api/v1/staff/charts").json()

    finance_page = _client(finance).get("/staff/").content.decode()
    assert "$1,234.56" in finance_page and 'href="/staff/charts/revenue.csv"' in finance_page
    rows = list(
        csv.reader(io.StringIO(_client(finance).get("/staff/charts/revenue.csv").content.decode()))
    )
    assert "123456" in rows[-1]
    api.force_authenticate(finance)
    assert api.get("/api/v1/staff/charts/revenue").json()["name"] == "revenue"
    assert "revenue" in api.get("/api/v1/staff/charts").json()


def test_the_page_reads_a_fixed_number_of_queries(operator, rollups, django_assert_num_queries):
    client = _client(operator)
    client.get("/staff/")  # warm the session and permission caches of this client
    # Permissions, one query per dataset and the overview cards (the session comes from the
    # cache and its user from this process's memory): a fixed number, however many days of
    # history the rollups hold. Operations is not shown revenue, so the revenue card's query is
    # not made.
    with django_assert_num_queries(17):
        assert client.get("/staff/").status_code == 200


def test_text_a_spreadsheet_would_run_is_quoted_in_csv(operator):
    today = timezone.now().astimezone(UTC).date()
    DailyQoe.objects.create(day=today, dimension="device", key='=HYPERLINK("http://x","y")',
                            sessions=3)  # fmt: skip
    DailyQoe.objects.create(day=today, dimension="device", key="-1+2", sessions=2)
    body = _client(operator).get("/staff/charts/qoe-device.csv").content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[0] for row in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "'-1+2"]
    assert [row[1] for row in rows[1:]] == ["3", "2"]  # numbers stay numbers


def test_the_rollup_command_recomputes_the_last_days(operator):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("insights_rollup", days=3, stdout=out)
    today = timezone.now().astimezone(UTC).date()
    assert list(DailyTotals.objects.order_by("day").values_list("day", "plays")) == [
        (today - timedelta(days=2), 0),
        (today - timedelta(days=1), 0),
        (today, 0),
    ]
    assert out.getvalue().count("0 sessions") == 3


def test_a_german_operator_reads_the_dashboard_in_german_and_downloads_the_same_csv(
    finance, rollups
):
    User = type(finance)
    User.objects.filter(pk=finance.pk).update(language="de")
    client = _client(finance)
    response = client.get("/staff/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de">' in html
    assert "<h1>Betriebs-Dashboard" in html
    assert "heute angesehene Stunden" in html and "hours watched today" not in html
    for heading in ("Wiedergabe", "Wiedergabequalität", "Auslieferung", "Umsatz"):
        assert f"<h2>{heading}</h2>" in html
    assert "Angesehene Stunden pro Tag, letzte 30 Tage" in html  # a chart title
    assert "Viewing" not in html and "Quality of experience" not in html
    # The CSV columns are data keys, the same in every language.
    csv_head = client.get("/staff/charts/viewing.csv").content.decode().splitlines()[0]
    assert csv_head == "day,hours_watched,plays,unique_viewers,peak_streams"
