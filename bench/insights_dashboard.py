"""The staff dashboard on a year of rollups for N viewers (default 10,000), timed against /healthz.

Creates a throwaway database (SQLite under a temp dir unless DATABASE_URL is set, in which case
Django's test database `test_<name>` is created and destroyed), writes 365 days of the rollups
the beat tasks keep (viewing per title and country, QoE per site/edge/title/device, edges,
streams, revenue) sized for N viewers, then times GET /staff/ and GET /healthz in-process
(Django's test client, interleaved, after a warm-up) and prints medians, p95 and the ratio. It
also times one rollup_day over a day of raw sessions with QoE summaries for those viewers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ss_qoe BENCH_VIEWERS=10000 \
        .venv/bin/python bench/insights_dashboard.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.test")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.test.utils import get_runner, setup_test_environment  # noqa: E402

TITLES = 300
COUNTRIES = [
    "US",
    "GB",
    "FR",
    "DE",
    "ES",
    "IT",
    "NL",
    "SE",
    "PL",
    "BR",
    "MX",
    "AR",
    "CA",
    "JP",
    "KR",
    "IN",
    "AU",
    "NZ",
    "ZA",
    "EG",
]
SITES = 10
EDGES_PER_SITE = 3
DEVICES = [
    "Chrome on Windows",
    "Chrome on macOS",
    "Safari on iPhone",
    "Chrome on Android",
    "Firefox on Linux",
    "Edge on Windows",
    "Safari on macOS",
    "Safari on iPad",
    "Chrome on ChromeOS",
    "Firefox on Windows",
    "Opera on Windows",
    "Unknown device",
]
REPEATS = int(os.environ.get("BENCH_REPEATS", "40"))


def _generate(viewers: int, today) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from catalog.models import Title
    from insights.models import (
        DailyEdge,
        DailyQoe,
        DailyRevenue,
        DailyTotals,
        DailyViewing,
        StreamSample,
    )

    rng = random.Random(19)
    titles = Title.objects.bulk_create(
        Title(name=f"Bench title {i}", slug=f"bench-title-{i}", is_published=True)
        for i in range(TITLES)
    )
    edges = [f"site{s}-e{e}" for s in range(SITES) for e in range(EDGES_PER_SITE)]
    now = datetime.now(UTC)
    counts = dict.fromkeys(("viewing", "qoe", "edge"), 0)
    plays_per_day = int(viewers * 0.45)
    for back in range(365):
        day = today - timedelta(days=back)
        DailyTotals.objects.create(
            day=day,
            plays=plays_per_day,
            viewers=int(viewers * 0.3),
            watched_ms=plays_per_day * 2_400_000,
            peak_streams=int(viewers * 0.05),
            updated_at=now,
        )
        viewing = []
        for country in COUNTRIES:
            for title in rng.sample(titles, 100):
                plays = rng.randint(1, 20)
                viewing.append(
                    DailyViewing(
                        day=day,
                        title=title,
                        country=country,
                        plays=plays,
                        viewers=plays,
                        watched_ms=plays * 2_400_000,
                    )
                )
        DailyViewing.objects.bulk_create(viewing, batch_size=2000)
        counts["viewing"] += len(viewing)
        qoe = []
        keys = (
            [("all", "all")]
            + [("site", f"site{s}") for s in range(SITES)]
            + [("edge", e) for e in edges]
            + [("title", t.name) for t in titles]
            + [("device", d) for d in DEVICES]
        )
        for dimension, key in keys:
            sessions = rng.randint(5, 500)
            qoe.append(
                DailyQoe(
                    day=day,
                    dimension=dimension,
                    key=key,
                    sessions=sessions,
                    started=sessions - 1,
                    exits_before_start=1,
                    errored=rng.randint(0, 3),
                    startup_p50_ms=rng.randint(400, 900),
                    startup_p95_ms=rng.randint(1500, 4000),
                    played_ms=sessions * 2_400_000,
                    stall_ms=sessions * rng.randint(0, 20_000),
                    bitrate_kbps_ms=sessions * 2_400_000 * rng.randint(800, 4500),
                )
            )
        DailyQoe.objects.bulk_create(qoe, batch_size=2000)
        counts["qoe"] += len(qoe)
        DailyEdge.objects.bulk_create(
            DailyEdge(
                day=day,
                edge=e,
                requests=1_000_000,
                lookups=990_000,
                hits=900_000,
                bytes=2 * 10**12,
                lookup_bytes=2 * 10**12,
                hit_bytes=18 * 10**11,
                origin_bytes=2 * 10**11,
            )
            for e in edges
        )
        counts["edge"] += len(edges)
        DailyRevenue.objects.create(
            day=day, currency="USD", mrr=viewers * 1299, churn_30d=0.021, ended_30d=viewers // 50
        )
    minute = now.replace(second=0, microsecond=0)
    StreamSample.objects.bulk_create(
        StreamSample(at=minute - timedelta(minutes=m), streams=rng.randint(0, viewers // 20))
        for m in range(8 * 24 * 60)
    )
    return counts


def _raw_day(viewers: int) -> int:
    """One day of raw sessions (0.45 plays per viewer) with QoE summaries, for rollup_day."""
    from accounts.models import Profile, User
    from catalog.models import Title
    from playback.models import PlaybackSession, QoeSession

    rng = random.Random(7)
    users = User.objects.bulk_create(
        User(email=f"viewer{i}@bench.example", country=COUNTRIES[i % len(COUNTRIES)])
        for i in range(viewers)
    )
    profiles = Profile.objects.bulk_create(Profile(account=user, name="Main") for user in users)
    titles = list(Title.objects.all()[:TITLES])
    now = datetime.now(UTC)
    sessions = [
        PlaybackSession(
            account_id=profile.account_id,
            profile=profile,
            title=rng.choice(titles),
            device=rng.choice(DEVICES),
            max_height=1080,
            created_at=now - timedelta(seconds=rng.randint(0, 3000)),
            expires_at=now + timedelta(minutes=1),
        )
        for profile in rng.sample(profiles, int(viewers * 0.45))
    ]
    PlaybackSession.objects.bulk_create(sessions, batch_size=2000)
    QoeSession.objects.bulk_create(
        (
            QoeSession(
                session=s,
                started_at=s.created_at,
                updated_at=now,
                startup_ms=rng.randint(300, 5000),
                played_ms=600_000,
                stall_ms=rng.randint(0, 20_000),
                bitrate_kbps_ms=600_000 * 2500,
                edge=f"site{rng.randrange(SITES)}-e0:80",
                reports=40,
            )
            for s in sessions
        ),
        batch_size=2000,
    )
    return len(sessions)


def _time(client, path: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def _profile(client) -> None:  # type: ignore[no-untyped-def]
    """BENCH_PROFILE=1: the page's slowest queries and its time outside the database."""
    from django.db import connection

    spent: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        total = _time(client, "/staff/")
    in_db = sum(ms for ms, _ in spent)
    print(f"profile: {total:.1f} ms, {len(spent)} queries, {in_db:.1f} ms in the database")
    for ms, sql in sorted(spent, reverse=True)[:6]:
        print(f"  {ms:7.1f} ms  {sql[:160]}")


def main() -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from insights.services import rollup_day
    from tests.factories import UserFactory

    viewers = int(os.environ.get("BENCH_VIEWERS", "10000"))
    setup_test_environment()  # the test client's host, in-memory mail
    runner = get_runner(settings)(verbosity=0)
    old = runner.setup_databases()
    try:
        today = timezone.now().astimezone(UTC).date()
        started = time.perf_counter()
        counts = _generate(viewers, today)
        generated = time.perf_counter() - started
        sessions = _raw_day(viewers)
        started = time.perf_counter()
        rollup_day(day=today)
        rolled = (time.perf_counter() - started) * 1000
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        admin = UserFactory(email="bench-admin@example.com", is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(admin)
        for _ in range(3):  # warm-up: templates, connections, caches
            _time(client, "/healthz")
            _time(client, "/staff/")
        if os.environ.get("BENCH_PROFILE"):
            _profile(client)
        health, page = [], []
        for _ in range(REPEATS):
            health.append(_time(client, "/healthz"))
            page.append(_time(client, "/staff/"))
    finally:
        runner.teardown_databases(old)

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, round(0.95 * len(values)) - 1)]

    print(f"database: {connection.vendor}; viewers: {viewers}; repeats: {REPEATS}")
    print(
        f"rollup rows: viewing {counts['viewing']:,}, QoE {counts['qoe']:,}, "
        f"edges {counts['edge']:,} (generated in {generated:.0f} s)"
    )
    print(f"rollup_day over {sessions:,} sessions with QoE: {rolled:.0f} ms")
    print("| request | median ms | p95 ms |")
    print("| --- | ---: | ---: |")
    print(f"| GET /healthz | {statistics.median(health):.1f} | {p95(health):.1f} |")
    print(f"| GET /staff/ | {statistics.median(page):.1f} | {p95(page):.1f} |")
    print(
        f"ratio (median /staff/ ÷ median /healthz): "
        f"{statistics.median(page) / statistics.median(health):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
