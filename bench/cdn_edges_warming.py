"""Warming on real nginx edges: today's hit ratio with and without last night's fill.

A tiny origin serves a synthetic HLS catalogue (one content key per title: master playlist, one
rendition playlist, SEGMENTS segments). Three real nginx edges, rendered by `manage.py
cdn_nginx_config`, sit in front of it in two sites (r0: e1 and e2, r1: e3), recorded in a
throwaway SQLite database with coverage zones 10.0.0.0/16 → r0 and 10.1.0.0/16 → r1. Two days of
sessions come from the repo's trace generator (`cdn.simulator.generate_workload`: Zipf
popularity, daily cycle, releases launching at 08:00, viewers abandoning part-way); the fill runs
at 07:00 on the second day, inside each site's 04:00-08:00 window.

- "Yesterday" is every session before the fill: steered by `cdn.steering.steer` and recorded
  with `cdn.services.decision_record` at its trace time. It is only used to predict.
- Run A (cold): fresh edge caches; replay "today" (every session from the fill on).
- Run B (warm): fresh edge caches; `cdn.warming.warm(now=fill)` plans the sites from the demand
  provider below (recorded decisions with decay, `demand_from_decisions`, plus the release
  schedule through `with_releases`), `cdn.warming.prefetch` fetches each planned key through its
  edge; then the same replay.

A replayed session asks `steer()` for its ranked URLs, signs each file under its scope
(`cdn.signing.sign_path`) and fetches master, rendition playlist and the segments its byte
count covers from the first URL, counting `X-Cache-Status`. Edge caches are larger than the
catalogue (no capacity misses), so what warming can win is the first read of a file on an edge.
Exits 1 only if B does not beat A on both object and byte hit ratio.

BENCH_LISTS=1: the edges run the project's lists instead of stock nginx. At the fill,
`cdn_edge_lists --now <fill>` decides each edge's admission and pin lists (BENCH_WARM_KEYS
pinned titles per edge) from yesterday's recorded plays; both runs' edges obey them, and B's
fill is the recorded pin lists. The lists matter when a cache is short of its working set;
here it is not, so refusing unlisted titles only costs hits, and what the run shows is what the
pin fill wins on edges that run the lists.

    .venv/bin/python bench/cdn_edges_warming.py
    BENCH_KEYS=120 BENCH_SESSIONS=2000 BENCH_RELEASES=1 BENCH_WARM_KEYS=30 BENCH_SEED=1 \\
        .venv/bin/python bench/cdn_edges_warming.py
    BENCH_LISTS=1 .venv/bin/python bench/cdn_edges_warming.py  # edges run the project's lists
"""

from __future__ import annotations

import http.client
import http.server
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SITES = {"r0": ("e1", "e2"), "r1": ("e3",)}
ZONES = {"r0": "10.0.0.0/16", "r1": "10.1.0.0/16"}  # the generator's clients are 10.<region>.x.y
FILL_HOUR = 7  # UTC, inside the 04:00-08:00 window, an hour before the day's launches
SEGMENTS = 8
BYTES_SCALE = 20_000  # catalogue bytes per origin byte: a 1 GB title is 50 KB of segments here
DEMAND_PROVIDER = "bench.cdn_edges_warming.demand_with_releases"

# The release schedule the demand provider sees (content key → epoch second it launches): what
# the catalogue knows ahead of time. Set by `run`.
_schedule: dict[str, float] = {}


def demand_with_releases(*, now: datetime) -> dict[str, dict[str, float]]:
    """What the catalogue's provider (media.cdn_demand.demand) does, fed with this bench's
    release schedule instead of catalogue availability: recorded plays with decay, plus the
    launches of the next 24 hours with the prior learned from earlier launches."""
    from cdn.warming import decayed_demand, recorded_plays, with_releases

    plays = list(recorded_plays(now=now))
    base = decayed_demand(plays, now=now.timestamp())
    return with_releases(base, dict(_schedule), now=now.timestamp(), plays=plays)


# --- Results ----------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    hits: int = 0
    bytes: int = 0
    hit_bytes: int = 0

    def add(self, cache_status: str, size: int) -> None:
        self.requests += 1
        self.bytes += size
        if cache_status == "HIT":
            self.hits += 1
            self.hit_bytes += size

    def __iadd__(self, other: Tally) -> Tally:
        self.requests += other.requests
        self.hits += other.hits
        self.bytes += other.bytes
        self.hit_bytes += other.hit_bytes
        return self

    @property
    def object_hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        return self.hit_bytes / self.bytes if self.bytes else 0.0


@dataclass
class Replay:
    sessions: int = 0
    per_edge: dict[str, Tally] = field(default_factory=dict)
    missed: set[tuple[str, str]] = field(default_factory=set)  # (edge, content key) with a miss
    requested: set[tuple[str, str]] = field(default_factory=set)  # (edge, file path) asked for
    first_edges: list[str] = field(default_factory=list)  # steering's first URL, per session
    origin_fetches: int = 0

    @property
    def total(self) -> Tally:
        out = Tally()
        for tally in self.per_edge.values():
            out += tally
        return out


@dataclass
class Outcome:
    keys: int
    yesterday_sessions: int
    cold: Replay
    warm: Replay
    warmed: set[tuple[str, str]]  # (edge, content key) filled
    warmed_files: int
    warmed_bytes: int
    warm_seconds: float

    @property
    def beats(self) -> bool:
        a, b = self.cold.total, self.warm.total
        return b.object_hit_ratio > a.object_hit_ratio and b.byte_hit_ratio > a.byte_hit_ratio


# --- Origin and edges -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Origin:
    """A static file server for <root>/media/, counting the files it is asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fetches = 0
        lock = threading.Lock()
        origin = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    origin.fetches += 1
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/media/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Edges:
    """Real nginx edges on loopback, each in its own process group and prefix directory."""

    def __init__(
        self, workdir: Path, origin_url: str, names: list[str], lists: Path | None = None
    ) -> None:
        """With `lists`, each edge runs the admission and pin lists `cdn_edge_lists` writes
        there (`<edge>.admission.map`, `<edge>.pin.map`)."""
        from django.core.management import call_command

        self.ports = {name: free_port() for name in names}
        self.prefixes = {name: workdir / f"nginx-{name}" for name in names}
        self.procs: dict[str, subprocess.Popen] = {}
        for name, prefix in self.prefixes.items():
            prefix.mkdir(parents=True)
            with open(os.devnull, "w") as devnull:
                call_command(
                    "cdn_nginx_config",
                    name=name,
                    listen=f"127.0.0.1:{self.ports[name]}",
                    origin=origin_url,
                    prefix=str(prefix),
                    user="root" if os.geteuid() == 0 else None,
                    output=str(prefix / "nginx.conf"),
                    admission_list=str(lists / f"{name}.admission.map") if lists else None,
                    pin_list=str(lists / f"{name}.pin.map") if lists else None,
                    stdout=devnull,
                )

    def base_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/"

    def start(self) -> None:
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is not installed (Debian's package: apt-get install nginx)")
        for name, prefix in self.prefixes.items():
            self.procs[name] = subprocess.Popen(
                ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C does not reach it; stop() takes master + workers
            )
        for name, port in self.ports.items():
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if self.procs[name].poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"nginx edge {name} did not start") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs = {}

    def restart_empty(self) -> None:
        """Stop every edge, delete its cache, start it again on the same port."""
        self.stop()
        for prefix in self.prefixes.values():
            shutil.rmtree(prefix / "cache", ignore_errors=True)
        self.start()


class Client:
    """One keep-alive connection per edge, as a player keeps to the edge it was sent to."""

    def __init__(self) -> None:
        self.conns: dict[str, http.client.HTTPConnection] = {}

    def get(self, url: str) -> tuple[int, bytes, str]:
        parts = urlsplit(url)
        for attempt in (1, 2):
            conn = self.conns.get(parts.netloc)
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                self.conns[parts.netloc] = conn
            try:
                conn.request("GET", parts.path)
                response = conn.getresponse()
                body = response.read()
                return response.status, body, response.getheader("X-Cache-Status", "")
            except (http.client.HTTPException, ConnectionError):
                # nginx closed an idle or used-up keep-alive connection: a GET is safe to repeat.
                conn.close()
                del self.conns[parts.netloc]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


# --- Catalogue, sessions, replay --------------------------------------------------------------


def write_catalogue(media_root: Path, sizes: dict[str, int], *, seed: int) -> None:
    """Each key: master.m3u8 → 720p/index.m3u8 → SEGMENTS segments, its size scaled down."""
    rng = random.Random(seed)
    for key, size in sizes.items():
        base = media_root / key
        (base / "720p").mkdir(parents=True)
        (base / "master.m3u8").write_text(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n720p/index.m3u8\n"
        )
        seg_bytes = max(1, size // BYTES_SCALE // SEGMENTS)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:4"]
        for i in range(SEGMENTS):
            lines += ["#EXTINF:4.0,", f"seg{i}.ts"]
            (base / "720p" / f"seg{i}.ts").write_bytes(rng.randbytes(seg_bytes))
        lines.append("#EXT-X-ENDLIST")
        (base / "720p" / "index.m3u8").write_text("\n".join(lines) + "\n")


def segments_read(nbytes: int, size: int) -> int:
    """A session that read `nbytes` of a `size`-byte title read its first this-many segments."""
    return max(1, min(SEGMENTS, math.ceil(SEGMENTS * nbytes / size)))


class HealthTicks:
    """Stands in for the health poller: a new health version each simulated hour, every edge up
    and idle (what stub_status shows on loopback between sequential requests). Steering resets
    its per-process session counts on a new version, as it does in production whenever a load
    changes; without it they would grow all day and spill keys over the site."""

    def __init__(self, edge_ids: list[int]) -> None:
        self.edge_ids = edge_ids
        self.hour: int | None = None

    def __call__(self, ts: float) -> None:
        from cdn.health import get_store
        from cdn.snapshot import EdgeHealth

        hour = int(ts // 3600)
        if hour != self.hour:
            get_store().publish_health({i: EdgeHealth(up=True, load=0.0) for i in self.edge_ids})
            self.hour = hour


def play_session(
    client: Client,
    base: str,
    *,
    expires: Any,
    edge: str,
    key: str,
    segments: int,
    tally: Tally,
    out: Replay,
) -> None:
    """What a player does with its first URL: master, rendition playlist, the segments it reads
    (each file under the token of its scope, cdn.signing.sign_path)."""
    from cdn.signing import sign_path
    from cdn.warming import playlist_children

    def get(name: str) -> str:
        status, body, cache_status = client.get(base + sign_path(key + name, expires_at=expires))
        if status != 200:
            raise RuntimeError(f"{edge} answered {status} for {key}{name}")
        tally.add(cache_status, len(body))
        out.requested.add((edge, key + name))
        if cache_status != "HIT":
            out.missed.add((edge, key))
        return body.decode("utf-8", "replace") if name.endswith(".m3u8") else ""

    for rendition in playlist_children(get("master.m3u8")):
        folder = rendition.rsplit("/", 1)[0] + "/" if "/" in rendition else ""
        for segment in playlist_children(get(rendition))[:segments]:
            get(folder + segment)


def replay(
    sessions: list[Any],
    *,
    sizes: dict[str, int],
    tick: Callable[[float], None],
    origin: Origin,
) -> Replay:
    """Every session in order: steer, sign once, play from the first URL; count cache status."""
    from django.utils import timezone

    from cdn.steering import steer

    out = Replay()
    before = origin.fetches
    client = Client()
    expires = timezone.now() + timedelta(hours=2)
    try:
        for session in sessions:
            tick(session.ts)
            decision = steer(client_ip=session.client, content_key=session.key)
            edge = decision.edges[0]
            out.sessions += 1
            out.first_edges.append(edge)
            play_session(
                client,
                decision.urls[0],
                expires=expires,
                edge=edge,
                key=session.key,
                segments=segments_read(session.nbytes, sizes[session.key]),
                tally=out.per_edge.setdefault(edge, Tally()),
                out=out,
            )
    finally:
        client.close()
    out.origin_fetches = origin.fetches - before
    return out


# --- The bench --------------------------------------------------------------------------------


def run(
    *,
    workdir: Path,
    keys: int = 120,
    sessions: int = 2000,
    releases: int = 1,
    warm_keys: int = 30,
    seed: int = 1,
    lists: bool = False,
) -> Outcome:
    """Build origin, edges and topology under `workdir`, then run A (cold) and B (warmed).

    With `lists`, the edges run the project's lists: `cdn_edge_lists` decides them at the fill
    from yesterday's recorded plays (`warm_keys` pinned titles per edge), both runs' edges obey
    them, and B's fill is the recorded pin lists (`cdn.warming.plan_site_pins`), not the
    demand provider's keys.

    Needs a configured Django with a migrated, empty cdn schema (the bench's throwaway SQLite,
    or a test database).
    """
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    from cdn import warming
    from cdn.models import Edge, EdgeContent, Site
    from cdn.services import coverage_zones_import, decision_record
    from cdn.steering import holder, steer
    from cdn.traces import DAY, DEFAULT_START, generate_workload

    trace, catalog = generate_workload(
        requests=sessions,
        titles=keys,
        regions=len(SITES),
        days=2,
        new_releases_per_day=releases,
        seed=seed,
    )
    sizes = {key: entry.nbytes for key, entry in catalog.items()}
    fill_ts = DEFAULT_START + DAY + FILL_HOUR * 3600
    fill_at = datetime.fromtimestamp(fill_ts, tz=UTC)
    yesterday = [r for r in trace if r.ts < fill_ts]
    today = [r for r in trace if r.ts >= fill_ts]
    _schedule.clear()
    _schedule.update({k: e.available_from for k, e in catalog.items() if e.available_from})

    write_catalogue(workdir / "origin" / "media", sizes, seed=seed)
    origin = Origin(workdir / "origin")
    edges: Edges | None = None
    try:
        names = [name for site in SITES.values() for name in site]
        list_dir = workdir / "lists" if lists else None
        edges = Edges(workdir, origin.url, names, lists=list_dir)
        with override_settings(
            CDN_ORIGIN_URL=origin.url,
            CDN_RECORD_DECISIONS=False,  # yesterday is recorded below, at its trace time
            CDN_REFRESH_SECONDS=0.0,
            CDN_DECISION_BATCH=1,
            CDN_DEMAND_PROVIDER=DEMAND_PROVIDER,
            CDN_WARM_KEYS_PER_SITE=warm_keys,
        ):
            for i, (site_name, edge_names) in enumerate(SITES.items()):
                site = Site.objects.create(
                    name=site_name,
                    country="US",
                    latitude=40.0 - 30 * i,
                    longitude=-74.0 + 60 * i,
                    timezone="UTC",
                    fill_start_hour=4,
                    fill_end_hour=8,
                    is_global_default=i == 0,
                )
                for name in edge_names:
                    Edge.objects.create(site=site, name=name, base_url=edges.base_url(name))
            coverage_zones_import(
                data={"coverageZones": {s: {"network": [z]} for s, z in ZONES.items()}}
            )
            holder.reset()
            tick = HealthTicks(list(Edge.objects.order_by("id").values_list("id", flat=True)))

            with transaction.atomic():
                for r in yesterday:
                    tick(r.ts)
                    decision = steer(client_ip=r.client, content_key=r.key)
                    decision_record(decision=decision, at=datetime.fromtimestamp(r.ts, tz=UTC))
            if list_dir is not None:
                with open(os.devnull, "w") as devnull:
                    call_command(
                        "cdn_edge_lists",
                        out_dir=str(list_dir),
                        pin_titles=warm_keys,
                        now=fill_at.isoformat(),
                        stdout=devnull,
                    )

            edges.start()
            cold = replay(today, sizes=sizes, tick=tick, origin=origin)

            edges.restart_empty()
            tick.hour = None
            planned = warming.warm(now=fill_at)
            started = time.perf_counter()
            for ids in planned.values():
                for row_id in ids:
                    result = "more"
                    while result == "more":
                        result = warming.prefetch(row_id=row_id)
                    if result != "done":
                        raise RuntimeError(f"pre-fetch of EdgeContent {row_id} ended {result}")
            warm_seconds = time.perf_counter() - started
            rows = list(
                EdgeContent.objects.filter(status=EdgeContent.Status.DONE).values_list(
                    "edge__name", "content_key", "files_done", "bytes_done"
                )
            )
            warm = replay(today, sizes=sizes, tick=tick, origin=origin)
            holder.reset()
    finally:
        if edges is not None:
            edges.stop()
        origin.close()
    return Outcome(
        keys=len(catalog),
        yesterday_sessions=len(yesterday),
        cold=cold,
        warm=warm,
        warmed={(edge, key) for edge, key, _, _ in rows},
        warmed_files=sum(files for _, _, files, _ in rows),
        warmed_bytes=sum(size for _, _, _, size in rows),
        warm_seconds=warm_seconds,
    )


def report(outcome: Outcome, *, warm_keys: int, lists: bool = False) -> list[str]:
    a, b = outcome.cold, outcome.warm
    planned = f"{warm_keys} pinned titles per edge" if lists else f"up to {warm_keys} keys per site"
    lines = [
        f"{outcome.keys} content keys x {SEGMENTS + 2} files; sites "
        + ", ".join(f"{s}: {'+'.join(e)}" for s, e in SITES.items())
        + f"; yesterday {outcome.yesterday_sessions} sessions (predict only), "
        f"today {a.sessions} sessions replayed",
        f"warming: {len(outcome.warmed)} (edge, key) copies, {planned}, "
        f"{outcome.warmed_files} files / {outcome.warmed_bytes / 1e6:.2f} MB fetched through "
        f"the edges in {outcome.warm_seconds:.2f} s",
        f"origin fetches during today's replay: cold {a.origin_fetches}, warm {b.origin_fetches}"
        f" ({a.origin_fetches - b.origin_fetches} misses avoided by {outcome.warmed_files} "
        "warmed files; the rest were not read today)",
        "",
        "| edge | requests | object hit cold | object hit warm | byte hit cold | byte hit warm |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [(name, a.per_edge[name], b.per_edge.get(name, Tally())) for name in sorted(a.per_edge)]
    rows.append(("all", a.total, b.total))
    for name, ta, tb in rows:
        lines.append(
            f"| {name} | {ta.requests} | {ta.object_hit_ratio:.4f} | {tb.object_hit_ratio:.4f} | "
            f"{ta.byte_hit_ratio:.4f} | {tb.byte_hit_ratio:.4f} |"
        )
    ta, tb = a.total, b.total
    lines += [
        "",
        f"warming gain: {100 * (tb.object_hit_ratio - ta.object_hit_ratio):+.2f} points object, "
        f"{100 * (tb.byte_hit_ratio - ta.byte_hit_ratio):+.2f} points byte: "
        + ("B beats A" if outcome.beats else "B does NOT beat A"),
    ]
    return lines


def main() -> int:
    keys = int(os.environ.get("BENCH_KEYS", "120"))
    sessions = int(os.environ.get("BENCH_SESSIONS", "2000"))
    releases = int(os.environ.get("BENCH_RELEASES", "1"))
    warm_keys = int(os.environ.get("BENCH_WARM_KEYS", "30"))
    seed = int(os.environ.get("BENCH_SEED", "1"))
    lists = os.environ.get("BENCH_LISTS", "") == "1"
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop nginx and remove the temp dir.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="cdn-edges-warming-") as tmpdir:
        tmp = Path(tmpdir)
        # A throwaway SQLite database and process-local health store, whatever the shell says.
        os.environ["DJANGO_SETTINGS_MODULE"] = "streamsite.settings.dev"
        os.environ["STREAMSITE_VAR_DIR"] = str(tmp / "var")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        os.environ["CDN_REDIS_URL"] = ""
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ.setdefault("CDN_SIGNING_SECRETS", secrets.token_urlsafe(32))
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        outcome = run(
            workdir=tmp,
            keys=keys,
            sessions=sessions,
            releases=releases,
            warm_keys=warm_keys,
            seed=seed,
            lists=lists,
        )
        if lists:
            print("edges run cdn_edge_lists' admission and pin lists; the fill is the pin lists")
        for line in report(outcome, warm_keys=warm_keys, lists=lists):
            print(line)
        print(f"wall {time.perf_counter() - started:.1f} s, load average {os.getloadavg()[0]:.1f}")
    return 0 if outcome.beats else 1


if __name__ == "__main__":
    # Run as the importable module, so CDN_DEMAND_PROVIDER names the same `_schedule`.
    from bench import cdn_edges_warming

    sys.exit(cdn_edges_warming.main())
