"""Where a worker's time goes through the real server: py-spy samples every gunicorn worker
while wrk drives one endpoint (bench/http/run.py with BENCH_SAMPLE=1, before the rounds).

bench/http/profile.py splits one request in one process through Django's test client; this
watches the production shape itself, gunicorn's own work and the waits included. Each sample
is one stack of a worker's busy thread (py-spy leaves out threads blocked in a system call, so
a worker waiting for a reply from Redis or PostgreSQL, or for the next request, takes no
sample). Each sample goes to the first group its stack matches, from the innermost frame out:

    database I/O   psycopg: sending, waiting and reading (the C parts count as its frames)
    Redis I/O      redis-py and streamsite/cache.py's round trip
    templates      django/template
    ORM            django/db/models (building queries and instances)
    gunicorn       stacks outside Django's WSGI handler: parsing, writing, access log
    view           under the view (DRF's dispatch included: negotiation, authentication,
                   throttles, serialisers)
    middleware     the rest inside the handler: middleware and URL resolution

and is then µs of worker time per request (a worker's threads together: the request's and
gthread's poller). Beside them, from /proc: the workers' CPU per request (user and system) and
"idle", the share of the run their CPU was not busy (waiting for a reply from Redis or
PostgreSQL, for the next request, or for a core).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Samples per second per worker. py-spy pauses the worker for each one (its non-blocking mode
# failed on a third of the samples here, and not evenly across frames): about a tenth of the
# throughput at this rate, so the rounds run after this pass, unsampled.
RATE = 100
GROUPS = ("database I/O", "Redis I/O", "templates", "ORM", "gunicorn", "view", "middleware")


def py_spy() -> str | None:
    """The py-spy next to this Python (requirements-dev.txt), or one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pids: list[int], seconds: float, out: Path) -> list[tuple[int, subprocess.Popen]]:
    """One py-spy per worker for `seconds`, its raw stacks into out/<pid>.txt."""
    spy = py_spy()
    if spy is None:
        raise SystemExit("py-spy is missing: .venv/bin/pip install -r requirements-dev.txt")
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        cmd = [
            spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
            "--rate", str(RATE), "--format", "raw",
            "--output", str(out / f"{pid}.txt"),
        ]  # fmt: skip
        procs.append(
            (pid, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        )
    return procs


def group(frames: list[str]) -> str:
    """The group of one stack (outermost frame first)."""
    for frame in reversed(frames):
        if "/psycopg/" in frame or "/psycopg_binary/" in frame:
            return "database I/O"
        if "/redis/" in frame or "_round_trip (streamsite/cache.py" in frame:
            return "Redis I/O"
        if "/django/template/" in frame:
            return "templates"
        if "/django/db/models/" in frame:
            return "ORM"
    joined = ";".join(frames)
    if "django/core/handlers/wsgi.py" not in joined:
        return "gunicorn"
    if "_get_response (" in joined and "django/core/handlers/base.py" in joined:
        return "view"
    return "middleware"


def summarise(
    procs: list[tuple[int, subprocess.Popen]], out: Path, requests: int
) -> dict[str, float] | None:
    """Wait for the samplers: µs of sampled time per request in each group, or None."""
    counts: Counter[str] = Counter()
    sampled = 0
    for pid, proc in procs:
        _, err = proc.communicate()
        path = out / f"{pid}.txt"
        if proc.returncode != 0 or not path.exists():
            print(f"    py-spy on worker {pid} failed: {err.decode(errors='replace')[-300:]}")
            continue
        sampled += 1
        for line in path.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                counts[group(stack.split(";"))] += int(n)
    if not sampled or not requests:
        return None
    # Workers share the load evenly (run.py prints each one's CPU): scale to all of them.
    scale = len(procs) / sampled
    return {g: counts[g] * scale / RATE / requests * 1e6 for g in GROUPS}


def line(per_request: dict[str, float] | None, cpu_per_request: float, idle: float) -> str:
    """The summary line: each group's µs per request, then the workers' CPU and idle share."""
    if per_request is None:
        return "    no samples"
    parts = "  ".join(f"{g} {per_request[g]:.0f}" for g in GROUPS)
    return (
        f"    µs/req: {parts}  | sampled {sum(per_request.values()):.0f};"
        f" workers' CPU {1e6 * cpu_per_request:.0f}, idle {idle:.0%}"
    )
