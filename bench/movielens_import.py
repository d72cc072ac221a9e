"""Time import_movielens on a synthetic ml-latest-small directory (default 100,000 ratings).

Runs against DATABASE_URL (a scratch database: it is migrated and filled) or, without it, a
fresh SQLite file in a temporary directory. Prints the first import and the no-op re-run.
    BENCH_RATINGS=100000 .venv/bin/python bench/movielens_import.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_dataset(d: Path, ratings: int, movies: int, users: int) -> None:
    rng = random.Random(7)
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "War"]
    with (d / "movies.csv").open("w") as fh:
        fh.write("movieId,title,genres\n")
        for m in range(1, movies + 1):
            g = "|".join(rng.sample(genres, rng.randint(1, 3)))
            fh.write(f'{m},"Synthetic Film {m} ({rng.randint(1950, 2024)})",{g}\n')
    seen: set[tuple[int, int]] = set()
    with (d / "ratings.csv").open("w") as fh:
        fh.write("userId,movieId,rating,timestamp\n")
        while len(seen) < ratings:
            pair = (rng.randint(1, users), rng.randint(1, movies))
            if pair in seen:
                continue
            seen.add(pair)
            score = rng.randint(1, 10) / 2
            fh.write(f"{pair[0]},{pair[1]},{score},{1_500_000_000 + len(seen)}\n")


def main() -> None:
    n = int(os.environ.get("BENCH_RATINGS", "100000"))
    tmp = Path(tempfile.mkdtemp(prefix="ml-bench-"))
    os.environ.setdefault("STREAMSITE_VAR_DIR", str(tmp / "var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "streamsite.settings.dev"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    data = tmp / "ml"
    data.mkdir()
    write_dataset(data, n, movies=max(100, n // 50), users=max(50, n // 160))
    from playback.services.movielens import import_movielens

    started, cpu = time.perf_counter(), time.process_time()
    report = import_movielens(path=data)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    import_movielens(path=data)
    again, again_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"database: {connection.vendor}")
    print(
        f"ratings: {report.ratings}, titles: {report.titles_created}, "
        f"profiles: {report.profiles_created}"
    )
    print(
        f"first import: {first:.1f} s wall, {first_cpu:.1f} s CPU in this process "
        f"({report.ratings / first:,.0f} ratings/s wall)"
    )
    print(f"re-run (nothing new): {again:.1f} s wall, {again_cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
