"""Where the time of one request goes, per endpoint of the HTTP bench (docs/benchmarks.md).

Runs in one process with the server's settings (production, PostgreSQL and Redis from the
environment, the bench's data from `fixtures.py prepare`) through Django's full handler
(`django.test.Client`, so every middleware and the authentication run), and splits each
request's wall time into: SQL (execute_wrapper: count and time), Redis (the cache backend's
calls), template rendering, DRF rendering (JSON), authentication, and the rest (view code,
serialisers, middleware). Template time includes the SQL that templates trigger and token
auth includes its own SQL and Redis, so those columns overlap. Warm: the first ten requests
of each endpoint (or one per path, if more) are discarded. "cpu ms" is this process's CPU
time per request (`time.process_time`): what a server worker spends on it whatever the
machine's load, without the time PostgreSQL and Redis spend in their own processes; "pg cpu"
is what this process's PostgreSQL backend spent per request (from /proc, when PostgreSQL runs on
this machine; blank otherwise).

BENCH_CPROFILE=1 also prints, per endpoint, the functions that cost the most CPU time
(cProfile timing CPU, sorted by own time or BENCH_CPROFILE_SORT=cumulative; BENCH_CPROFILE_TOP
lines, 25 by default); BENCH_CPROFILE_DUMP=path also writes the profile there (the last
endpoint's), for pstats' callers and callees.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/http/run.py   # once, for the data
    BENCH_DATA=/path/data.json ... .venv/bin/python bench/http/profile.py

run.py calls it with BENCH_PROFILE=1 (after preparing, before the wrk rounds).
"""

from __future__ import annotations

import json
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This file is named like the standard library's `profile`, which cProfile imports: import
# it without this folder on the path.
_here = sys.path.pop(0)
import cProfile  # noqa: E402

sys.path.insert(0, _here)
import procstat  # noqa: E402 - bench/http/procstat.py, beside this script

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("BENCH_PROFILE_REQUESTS", "60"))

OWN_COLUMNS = ("sql", "redis", "templates", "json render")  # "rest" is what they leave
spent: dict[str, float] = defaultdict(float)
counts: dict[str, int] = defaultdict(int)


def timed(owner: Any, name: str, bucket: str) -> None:
    """Wrap owner.name so its wall time adds to `bucket` (outermost call only)."""
    original = getattr(owner, name)
    depth = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth["n"] += 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            depth["n"] -= 1
            if depth["n"] == 0:
                spent[bucket] += time.perf_counter() - started
                counts[bucket] += 1

    setattr(owner, name, wrapper)


def sql(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        spent["sql"] += time.perf_counter() - started
        counts["sql"] += 1


def _backend_cpu(connection: Any) -> tuple[int, float] | None:
    """(pid, CPU seconds) of this process's PostgreSQL backend, when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid  # psycopg knows it: no query to count
    backend = procstat.process(pid)  # None: another machine's, or another user's
    return (pid, backend.cpu) if backend is not None else None


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.template.backends.django import Template
    from django.test import Client
    from rest_framework.renderers import JSONRenderer

    from accounts.authentication import ApiTokenAuthentication
    from streamsite.cache import FailSoftRedisCache

    sys.path.insert(0, str(Path(__file__).parent))
    from run import endpoints  # the same endpoints as the wrk rounds

    timed(FailSoftRedisCache, "_call", "redis")
    timed(Template, "render", "templates")
    timed(JSONRenderer, "render", "json render")
    timed(ApiTokenAuthentication, "authenticate", "token auth")

    data = json.loads(Path(os.environ["BENCH_DATA"]).read_text())
    client = Client(HTTP_HOST="127.0.0.1")
    from fixtures import release

    print(
        f"{'endpoint':24} {'ms/req':>7} {'cpu ms':>7} {'queries':>7} {'sql ms':>7} {'redis':>6}"
        f" {'redis ms':>8} {'tmpl ms':>7} {'json ms':>7} {'auth ms':>7} {'rest ms':>7}"
        f" {'pg cpu':>7}",
        flush=True,
    )
    only = [s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()]
    profiling = bool(os.environ.get("BENCH_CPROFILE"))
    for ep in endpoints(data):
        if ep.base == "static" or (only and not any(o in ep.name for o in only)):
            continue
        headers: dict[str, str] = {}
        if ep.cookie:
            headers["HTTP_COOKIE"] = ep.cookie
        with connection.execute_wrapper(sql):
            profiler = cProfile.Profile(time.process_time) if profiling else None
            warm = max(10, len(ep.paths))  # every path once (search's prefixes)
            for i in range(N + warm):
                if i == warm:  # warm: caches filled, code paths imported
                    spent.clear()
                    counts.clear()
                    backend = _backend_cpu(connection)
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    if profiler is not None:
                        profiler.enable()
                auth = ep.auths[i % len(ep.auths)] if ep.auths else ""
                if auth:
                    token, profile = auth.split(",")
                    headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
                    headers["HTTP_X_PROFILE_ID"] = profile
                path = ep.paths[i % len(ep.paths)]
                if ep.method == "POST":
                    reply = client.post(path, ep.body, content_type="application/json", **headers)
                else:
                    reply = client.get(path, **headers)
                assert reply.status_code < 400, (ep.name, reply.status_code, reply.content[:300])
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            backend_after = _backend_cpu(connection)
            if profiler is not None:
                profiler.disable()
        if ep.method == "POST":
            release()
        ms = {k: v * 1000 / N for k, v in spent.items()}
        per = total * 1000 / N
        print(
            f"{ep.name:24} {per:7.2f} {cpu * 1000 / N:7.2f} {counts['sql'] / N:7.1f}"
            f" {ms.get('sql', 0):7.2f}"
            f" {counts['redis'] / N:6.1f} {ms.get('redis', 0):8.2f} {ms.get('templates', 0):7.2f}"
            f" {ms.get('json render', 0):7.2f} {ms.get('token auth', 0):7.2f}"
            f" {per - sum(ms.get(k, 0) for k in OWN_COLUMNS):7.2f}"
            + (
                f" {(backend_after[1] - backend[1]) * 1000 / N:7.2f}"
                if backend and backend_after and backend[0] == backend_after[0]
                else ""
            ),
            flush=True,
        )
        if profiler is not None:
            top = int(os.environ.get("BENCH_CPROFILE_TOP", "25"))
            order = os.environ.get("BENCH_CPROFILE_SORT", "tottime")  # or cumulative
            pstats.Stats(profiler, stream=sys.stdout).sort_stats(order).print_stats(top)
            if os.environ.get("BENCH_CPROFILE_DUMP"):  # for pstats' callers and callees
                profiler.dump_stats(os.environ["BENCH_CPROFILE_DUMP"])


if __name__ == "__main__":
    main()
