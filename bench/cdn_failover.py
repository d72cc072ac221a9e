"""Failover time: kill the edge steering prefers, time until steering stops sending viewers there.

Three real nginx edges (rendered by cdn_nginx_config) in front of a tiny origin; the health
poller runs every CDN_HEALTH_INTERVAL (0.5 s here) with a 0.3 s probe timeout and K=2; steering
re-reads the health version every 0.25 s. Each trial SIGKILLs the preferred edge's process group
and measures the time until a fresh decision no longer ranks it first; then restarts it.

    .venv/bin/python bench/cdn_failover.py     # BENCH_TRIALS=20
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")
os.environ["CDN_REDIS_URL"] = os.environ.get("CDN_REDIS_URL", "")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from cdn.health import EdgeTarget, LocalStore, Poller  # noqa: E402
from cdn.snapshot import EdgeInfo, SiteInfo, Snapshot  # noqa: E402
from cdn.steering import Steerer  # noqa: E402

TRIALS = int(os.environ.get("BENCH_TRIALS", "20"))
INTERVAL, TIMEOUT, K, M, REFRESH = 0.5, 0.3, 2, 2, 0.25
KEY = "hls/bench/v1/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_edge(tmp: Path, name: str, port: int, origin: str) -> subprocess.Popen:
    prefix = tmp / name
    prefix.mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    call_command(
        "cdn_nginx_config",
        name=name,
        listen=f"127.0.0.1:{port}",
        origin=origin,
        prefix=str(prefix),
        user="root" if os.geteuid() == 0 else None,
        output=str(conf),
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    proc = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "origin").mkdir()
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(tmp / "origin"), **k
        )
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=origin.serve_forever, daemon=True).start()
        origin_url = f"http://127.0.0.1:{origin.server_port}/"
        ports = {f"e{i}": free_port() for i in range(3)}
        procs = {n: start_edge(tmp, n, p, origin_url) for n, p in ports.items()}
        site = SiteInfo(id=1, name="local", country="US", latitude=0, longitude=0)
        site.edges = [
            EdgeInfo(id=i + 1, name=n, site_id=1, base_url=f"http://127.0.0.1:{p}/")
            for i, (n, p) in enumerate(ports.items())
        ]
        snapshot = Snapshot(sites=[site], global_default=1)
        steerer = Steerer(snapshot, origin_url=origin_url)
        store = LocalStore()
        targets = [
            EdgeTarget(
                id=e.id,
                health_url=f"{e.base_url}cdn-health",
                status_url=f"{e.base_url}cdn-status",
                capacity=1000,
            )
            for e in site.edges
        ]
        poller = Poller(
            store=store, targets=lambda: targets, down_after=K, up_after=M, timeout=TIMEOUT
        )
        stop = threading.Event()

        def poll_loop() -> None:
            while not stop.is_set():
                started = time.monotonic()
                poller.round()
                stop.wait(max(0.0, INTERVAL - (time.monotonic() - started)))

        def first_choice() -> str:
            # What a steering process sees: it re-reads the health version every REFRESH s.
            version, health = store.read_health()
            if version != steerer.snapshot.health_version:
                steerer.snapshot = steerer.snapshot.with_health(health, version)
            return steerer.steer(client_ip="127.0.0.1", content_key=KEY).edges[0]

        threading.Thread(target=poll_loop, daemon=True).start()
        times = []
        try:
            for trial in range(TRIALS):
                deadline = time.monotonic() + 10
                while (
                    time.monotonic() < deadline
                    and not all(h.up for h in store.read_health()[1].values())
                    or len(store.read_health()[1]) < 3
                ):
                    time.sleep(0.05)
                victim = first_choice()
                # Kill at a random phase of the poll cycle.
                time.sleep((trial * 0.137) % INTERVAL)
                os.killpg(procs[victim].pid, signal.SIGKILL)
                procs[victim].wait()
                killed = time.monotonic()
                while first_choice() == victim:
                    time.sleep(REFRESH)
                times.append(time.monotonic() - killed)
                procs[victim] = start_edge(tmp, victim, ports[victim], origin_url)
        finally:
            stop.set()
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            origin.shutdown()
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
        print(
            f"interval {INTERVAL}s, timeout {TIMEOUT}s, K={K}, steering refresh {REFRESH}s, "
            f"{len(times)} trials, load average {os.getloadavg()[0]:.1f}"
        )
        print(f"failover time p50 {p(0.5):.2f} s  p95 {p(0.95):.2f} s  max {times[-1]:.2f} s")
        _ = settings


if __name__ == "__main__":
    main()
