"""Heartbeat write path on PostgreSQL: positions buffered in Redis vs the database fallback.

Each mode runs in its own process (the cache backend is read at start-up): 200 live sessions,
then BENCH_HEARTBEATS heartbeats round-robin through the service (lease renewal + buffered
position), then one flush through record_progress. Reported as heartbeats/s, the flush time,
and the heartbeat rate as a ratio to the database fallback measured in the same session.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamsite REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/playback_heartbeats.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEARTBEATS = int(os.environ.get("BENCH_HEARTBEATS", "4000"))
SESSIONS = 200


def child() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "streamsite.settings.dev"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Profile, User
    from catalog.models import Availability, Title
    from playback import ports
    from playback.models import Progress
    from playback.services import positions
    from playback.services import sessions as services

    # 20 profiles per account stream at once: a plan no real account has, so the bench says so.
    ports.get_entitlements = lambda account: ports.Entitlements(  # type: ignore[assignment]
        True, 20, 1080, 20, "bench", "active", ""
    )

    users = []
    sessions = []
    try:
        title = Title.objects.create(
            name="Bench", slug=f"bench-{os.getpid()}", is_published=True, runtime_minutes=120
        )
        Availability.objects.create(
            title=title, country="", starts_at=timezone.now() - timedelta(days=1)
        )
        folder = ports.local_asset_folder(f"title-{title.pk}")  # under MEDIA_ROOT
        folder.mkdir(parents=True)
        (folder / "master.m3u8").write_text(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640x360\n360p/index.m3u8\n"
        )
        for a in range(SESSIONS // 20):
            user = User.objects.create_user(f"bench-{os.getpid()}-{a}@example.com")
            users.append(user)
            for p in range(20):
                profile = Profile.objects.create(account=user, name=f"P{p}")
                started = services.session_start(account=user, profile=profile, title=title)
                sessions.append((user, started.session.pk))
        started_at = time.perf_counter()
        for i in range(HEARTBEATS):
            user, session_id = sessions[i % SESSIONS]
            services.session_heartbeat(
                account=user, session_id=session_id, seq=i, position=float(i), state="playing"
            )
        beat_elapsed = time.perf_counter() - started_at
        flush_started = time.perf_counter()
        flushed = positions.flush_positions()
        flush_elapsed = time.perf_counter() - flush_started
        assert flushed == SESSIONS, flushed
        assert Progress.objects.filter(profile__account__in=users).count() == SESSIONS
        print(
            json.dumps(
                {
                    "buffer": "redis" if positions.uses_redis_buffer() else "database",
                    "hps": HEARTBEATS / beat_elapsed,
                    "flush_ms": flush_elapsed * 1000,
                }
            )
        )
    finally:
        for user in users:
            user.delete()
        Title.objects.filter(slug=f"bench-{os.getpid()}").delete()


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (and REDIS_URL for the Redis buffer)")
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL=redis://... to compare the Redis buffer")
    results = {}
    for label, with_redis in (("database fallback", False), ("Redis buffer", True)):
        with tempfile.TemporaryDirectory() as media:
            env = {**os.environ, "LOG_LEVEL": "WARNING", "MEDIA_ROOT": media}
            if not with_redis:
                env.pop("REDIS_URL", None)
            out = subprocess.run(
                [sys.executable, __file__, "--child"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["database fallback"]["hps"]
    print(f"{HEARTBEATS} heartbeats over {SESSIONS} sessions, then one flush\n")
    print("| position buffer | heartbeats/s | ratio | flush of 200 sessions |")
    print("| --- | ---: | ---: | ---: |")
    for label, r in results.items():
        print(f"| {label} | {r['hps']:.0f} | {r['hps'] / base:.2f} | {r['flush_ms']:.0f} ms |")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
