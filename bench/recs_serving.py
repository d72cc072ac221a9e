"""Rows endpoint latency: precomputed rows (the Django cache) vs computed on the fly.

Runs the real API view (DRF, authentication, X-Profile-Id, serialisation) in-process against the
database in DATABASE_URL, which must hold the demo (`manage.py seed_demo`, which trains and
promotes a model). With REDIS_URL set the cache is Redis, as in production; else local memory.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/recs_serving.py \\
        [--profiles 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from tqdm import tqdm  # noqa: E402

from accounts.models import Profile  # noqa: E402
from recommendations import rows  # noqa: E402
from recommendations.models import ModelVersion  # noqa: E402

URL = "/api/v1/recommendations/rows"


def timed(client: APIClient, profile: Profile) -> float:
    start = time.perf_counter()
    response = client.get(URL, HTTP_X_PROFILE_ID=str(profile.pk), HTTP_HOST="localhost")
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{URL} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    live = ModelVersion.objects.live().first()
    if live is None:
        print("No live model: seed the demo first (manage.py seed_demo).", file=sys.stderr)
        return 1
    profiles = list(
        Profile.objects.select_related("account").filter(interactions__isnull=False).distinct()
    )[: args.profiles]
    clients = {}
    for p in profiles:
        c = APIClient()
        c.force_authenticate(p.account)
        clients[p.pk] = c
    timed(clients[profiles[0].pk], profiles[0])  # load the model once, as a warm worker has

    cold, warm = [], []
    for _ in tqdm(range(args.rounds), desc="rounds", file=sys.stderr):
        for p in profiles:
            cache.delete(rows.cache_key_prefix(p.pk))
            cold.append(timed(clients[p.pk], p))  # on the fly (then cached)
            warm.append(timed(clients[p.pk], p))  # precomputed

    def pct(xs: list[float], q: float) -> float:
        return float(np.percentile(np.array(xs), q))

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"Rows endpoint, {len(profiles)} demo profiles x {args.rounds} rounds, "
        f"model #{live.pk} ({live.algorithm}), {db}, cache {backend}, "
        f"Python {platform.python_version()} on {platform.machine()}"
    )
    print("| rows served | requests | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, xs in (("precomputed (cache hit)", warm), ("on the fly (cache miss)", cold)):
        print(f"| {name} | {len(xs)} | {pct(xs, 50):.2f} | {pct(xs, 95):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
