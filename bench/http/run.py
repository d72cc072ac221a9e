"""HTTP bench of the request path (`make bench-http`; not part of `make test`).

Starts the production shape on loopback: gunicorn with streamsite.settings.production against
PostgreSQL and Redis from the environment (DATABASE_URL, REDIS_URL), demo data seeded, plus
nginx serving a 10 KB static file. Then wrk measures, in alternating rounds, `/healthz` on the
same server, the static file, and each endpoint of the browse and play path. Every run sits
between two `/healthz` runs and its ratio is taken against their mean, so the drift of a shared
machine's speed (`/healthz` alone moves by a quarter from one minute to the next) hits both
sides. Prints requests/s, ratios (median of the rounds) and p50/p99 latency, and the targets of
issue #22.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamsite_bench \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/http/run.py

Environment knobs (defaults in brackets): BENCH_ROUNDS [3], BENCH_SECONDS [8],
BENCH_CONNECTIONS [16], BENCH_PORT and BENCH_STATIC_PORT [free ports], BENCH_WORKERS [2],
BENCH_WORKER_CLASS [gthread], BENCH_THREADS [1] (the Procfile's; streamsite/gunicorn_conf.py
as the image uses it), BENCH_ACCOUNTS [250 per second of BENCH_SECONDS: 2,000] (playback
start takes a stream of one in turn, and the leases are ended only between runs: Premium's four
streams each give 2,000 accounts 8,000 starts, 1,000 starts/s for 8 s; at 1,000 accounts a
machine serving 540 starts/s ran out and the start's run counted 409s),
BENCH_ONLY (comma-separated endpoint names),
BENCH_ENV (extra server settings, e.g. "DATABASE_CONN_MAX_AGE=0"), BENCH_PROFILE=1 (first
the per-request profile of bench/http/profile.py), BENCH_SAMPLE=1 (then, before the rounds,
each endpoint once more with py-spy sampling every worker: bench/http/sampling.py).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import procstat  # bench/http/procstat.py, beside this script
import redis
import sampling  # bench/http/sampling.py
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from streamsite.redis_keys import unlink_prefix  # noqa: E402 - the project's, without Django

PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))


@dataclass
class Endpoint:
    name: str
    target: float | None  # ratio to /healthz of the same round
    method: str = "GET"
    paths: list[str] = field(default_factory=list)
    auths: list[str] = field(default_factory=list)
    cookie: str = ""
    body: str = ""
    base: str = "app"  # "app" (gunicorn) or "static" (nginx)
    bad_hint: str = ""  # what a bad response most likely means here


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx responses plus socket errors
    total: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks() -> tuple[int, int] | None:
    """(stolen, all) CPU ticks of the machine so far, from /proc/stat; None elsewhere. On a
    virtual machine the host's other guests take CPU from ours ("steal"): a round with much
    of it measured a slower machine, which is why every ratio is taken within its round."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks[:8])


def stolen_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def servers_cpu() -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) so far of each PostgreSQL and Redis server process on this
    machine, by server name ("postgres", "redis") and pid; nothing for a server elsewhere. Two
    readings' difference (`servers_spent`), per request, shows what a request costs the servers
    besides the workers (docs/benchmarks.md, seventeenth pass): on one machine they share its
    cores. Every process of a local server is counted, so another client's work on it counts
    too."""
    out: dict[str, dict[int, float]] = {"postgres": {}, "redis": {}}
    for pid, proc in procstat.processes().items():
        if proc.name.startswith("postgres"):
            out["postgres"][pid] = proc.cpu
        elif proc.name == "redis-server":
            out["redis"][pid] = proc.cpu
    return out


def servers_spent(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds each server spent between two `servers_cpu` readings, process by process: a
    process that started meanwhile counts from zero, and one that ended meanwhile (a backend
    whose client disconnected) is left out, not subtracted whole from the others."""
    return {
        name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for name, pids in after.items()
    }


def say(text: str) -> None:
    print(text, flush=True)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return Result(rps=rps, p50_ms=p50, p99_ms=p99, bad=bad, total=total)


def wrk(url: str, ep: Endpoint, seconds: float, connections: int) -> Result:
    env = {
        **os.environ,
        "BENCH_METHOD": ep.method,
        "BENCH_PATHS": "|".join(ep.paths),
        "BENCH_AUTHS": "|".join(ep.auths),
        "BENCH_COOKIE": ep.cookie,
        "BENCH_BODY": ep.body,
    }
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    cmd += ["-s", str(HERE / "request.lua"), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


class Stack:
    """gunicorn (production settings) and nginx (static file), both on loopback."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = int(os.environ.get("BENCH_PORT") or free_port())
        self.static_port = int(os.environ.get("BENCH_STATIC_PORT") or free_port())
        self.procs: list[subprocess.Popen[bytes]] = []
        self.key_prefix = "bench-" + secrets.token_hex(4)
        self.env = self._server_env()

    def _server_env(self) -> dict[str, str]:
        def secret() -> str:
            return secrets.token_urlsafe(48)

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "streamsite.settings.production",
            "SECRET_KEY": "bench-" + secret(),
            "CDN_SIGNING_SECRETS": secret(),
            "BILLING_SANDBOX_WEBHOOK_SECRET": "bench-" + secret(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            # Every request comes from 127.0.0.1, which the API throttles key on: a limit per
            # address would turn the bench into a 429 test. The throttle itself still runs.
            "API_THROTTLE_USER": "10000000/min",
            "API_THROTTLE_ANON": "10000000/min",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(ROOT / "var" / "bench-http" / "static"),
            # Cache keys of this run's own: the Redis database may hold another site's keys
            # under the default prefix (CI and `make test` on PostgreSQL use db 0 too), and a
            # catalogue version they share would serve that site's fragments here (a run after
            # CI once refused every start: "not available in your country").
            "CACHE_KEY_PREFIX": self.key_prefix,
        }
        for pair in shlex.split(os.environ.get("BENCH_ENV", "")):
            key, _, value = pair.partition("=")
            env[key] = value
        return env

    def manage(self, *args: str) -> None:
        subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def fixtures(self, *args: str) -> None:
        # Seeding encodes the demo clips in-process (no worker runs here); the server itself
        # enqueues to the broker as in production.
        env = {**self.env, "CELERY_TASK_ALWAYS_EAGER": "true"}
        subprocess.run([PY, str(HERE / "fixtures.py"), *args], cwd=ROOT, env=env, check=True)

    def start(self) -> None:
        # As the image's entrypoint runs it: metrics in prometheus-client's multiprocess mode.
        (self.tmp / "prometheus").mkdir()
        server_env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "prometheus")}
        workers = os.environ.get("BENCH_WORKERS", "2")
        worker_class = os.environ.get("BENCH_WORKER_CLASS", "gthread")
        threads = os.environ.get("BENCH_THREADS", "1")
        self.gunicorn_args = [
            "--workers", workers, "--worker-class", worker_class, "--threads", threads,
        ]  # fmt: skip
        cmd = [
            GUNICORN, "streamsite.wsgi", "--config", "python:streamsite.gunicorn_conf",
            "--bind", f"127.0.0.1:{self.port}", *self.gunicorn_args,
            "--timeout", "60", "--access-logfile", str(self.tmp / "access.log"),
        ]  # fmt: skip
        log = open(self.tmp / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=server_env, stdout=log, stderr=log))
        www = self.tmp / "www"
        www.mkdir()
        (www / "static.txt").write_bytes(b"streamsite static file\n" * 445)  # ~10 KB
        os.chmod(self.tmp, 0o755)
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            f"worker_processes 1;\npid {self.tmp}/nginx.pid;\nerror_log {self.tmp}/nginx.err;\n"
            "events { worker_connections 512; }\n"
            f"http {{ access_log off; server {{ listen 127.0.0.1:{self.static_port}; "
            f"root {www}; location / {{ }} }} }}\n"
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.procs.append(
            subprocess.Popen(
                [nginx, "-p", str(self.tmp), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        for url in (self.url("/healthz"), self.static_url()):
            self._wait(url)

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - loopback
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        log = (self.tmp / "gunicorn.log").read_text(errors="replace")[-3000:]
        sys.exit(f"{url} did not answer 200 within 60 s\n{log}")

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) so far of each gunicorn worker, by pid: a round's
        difference shows whether both workers served it (docs/benchmarks.md, seventh pass)."""
        master = self.procs[0].pid
        return {pid: p.cpu for pid, p in procstat.processes().items() if p.parent == master}

    def token_lookups(self) -> dict[str, float]:
        """streamsite_api_token_lookups_total so far, summed over the workers' metric files, by
        source (`memory`, `database`): how many API requests' tokens the workers remembered."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.tmp / "prometheus"))
        return {
            sample.labels["source"]: sample.value
            for metric in registry.collect()
            if metric.name == "streamsite_api_token_lookups"
            for sample in metric.samples
            if sample.name.endswith("_total")
        }

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def static_url(self) -> str:
        return f"http://127.0.0.1:{self.static_port}/static.txt"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._forget_keys()

    def _forget_keys(self) -> None:
        """Delete this run's cache keys: some never expire (the shared counters), and each run
        has a prefix of its own, so they would pile up in the Redis database. Not when BENCH_ENV
        chose the prefix (those keys may be someone's)."""
        if self.env.get("CACHE_KEY_PREFIX") != self.key_prefix:
            return
        try:
            unlink_prefix(redis.Redis.from_url(self.env["REDIS_URL"]), self.key_prefix)
        except redis.RedisError as exc:  # the results are out already: say so, do not fail
            say(f"== could not delete this run's cache keys ({self.key_prefix}:*): {exc}")


def endpoints(data: dict) -> list[Endpoint]:
    first = data["tokens"][0]
    detail = data["detail_title_id"]
    api = [f"{first['token']},{first['profile']}"]
    cookie = f"{data['session_cookie']}={data['session']}"
    prefixes = data["search_prefixes"]
    return [
        Endpoint("healthz", None, paths=["/healthz"]),
        Endpoint("static (nginx)", None, paths=["/static.txt"], base="static"),
        Endpoint("titles list (API)", 0.5, paths=["/api/v1/titles"], auths=api),
        Endpoint("title detail (API)", 0.5, paths=[f"/api/v1/titles/{detail}"], auths=api),
        Endpoint("rows (API)", 0.6, paths=["/api/v1/recommendations/rows"], auths=api),
        Endpoint("home page (HTML)", 0.3, paths=["/"], cookie=cookie),
        Endpoint(
            "search as you type",
            0.3,
            paths=[f"/search?q={p.replace(' ', '+')}&partial=1" for p in prefixes],
            cookie=cookie,
        ),
        Endpoint(
            "playback start (API)",
            0.2,
            method="POST",
            paths=["/api/v1/playback/sessions"],
            auths=[f"{t['token']},{t['profile']}" for t in data["tokens"]],
            body=json.dumps({"title_id": data["playback_title_id"], "device": "bench"}),
            bad_hint="a 409 is a bench account out of streams: raise BENCH_ACCOUNTS",
        ),
    ]  # fmt: skip


def check_once(stack: Stack, ep: Endpoint) -> None:
    """One request of each endpoint must succeed before any is measured."""
    headers = {"Accept": "*/*"}
    if ep.auths:
        token, profile = ep.auths[0].split(",")
        headers |= {"Authorization": f"Bearer {token}", "X-Profile-Id": profile}
    if ep.cookie:
        headers["Cookie"] = ep.cookie
    body = ep.body.encode() if ep.body else None
    if body:
        headers["Content-Type"] = "application/json"
    url = stack.static_url() if ep.base == "static" else stack.url(ep.paths[0])
    request = urllib.request.Request(url, data=body, headers=headers, method=ep.method)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            size = len(reply.read())
            say(f"  {ep.name:24} {reply.status}  {size:6d} bytes  {ep.paths[0][:60]}")
    except urllib.error.HTTPError as exc:
        sys.exit(f"{ep.name}: {url} answered {exc.code}: {exc.read()[:400]!r}")


def main() -> int:
    for tool in ("wrk", "nginx", "ffmpeg"):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is missing: apt-get install -y {tool} (bash .ci/packages.sh install bench)"
            )
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (the production shape runs on PostgreSQL)")
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL=redis://... (the production shape caches in Redis)")
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "16"))
    only = [s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmpdir:
        tmp = Path(tmpdir)
        stack = Stack(tmp)
        say("== preparing: migrate, collectstatic, demo data, bench accounts")
        stack.manage("migrate", "--noinput", "-v0")
        stack.manage("collectstatic", "--noinput", "-v0")
        accounts = os.environ.get("BENCH_ACCOUNTS") or str(max(1, round(250 * seconds)))
        stack.fixtures("prepare", str(tmp / "data.json"), accounts)
        data = json.loads((tmp / "data.json").read_text())
        eps = endpoints(data)
        if os.environ.get("BENCH_PROFILE"):
            say("== profile: where one request's time goes (bench/http/profile.py)")
            subprocess.run(
                [PY, str(HERE / "profile.py")],
                cwd=ROOT, env={**stack.env, "BENCH_DATA": str(tmp / "data.json")}, check=True,
            )  # fmt: skip
        if only:
            eps = [
                e
                for e in eps
                if e.base == "static" or e.name == "healthz" or any(o in e.name for o in only)
            ]
        try:
            stack.start()
            say(
                f"== gunicorn {' '.join(stack.gunicorn_args)} on {stack.url()},"
                f" nginx on :{stack.static_port}"
            )
            say(
                "   load average "
                + " ".join(f"{x:.2f}" for x in os.getloadavg())
                + f", {os.cpu_count()} cores"
            )
            for ep in eps:
                check_once(stack, ep)
            say("== warm-up (2 s each)")
            for ep in eps:
                wrk(stack.static_url() if ep.base == "static" else stack.url(), ep, 2, connections)
                if ep.method == "POST":
                    stack.fixtures("release")
            if os.environ.get("BENCH_SAMPLE"):
                say("== sampled: where the workers' time goes (bench/http/sampling.py)")
                for ep in eps:
                    if ep.base != "app":
                        continue
                    before, started = stack.worker_cpu(), time.monotonic()
                    spies = sampling.start(sorted(before), seconds, tmp / ep.name)
                    res = wrk(stack.url(), ep, seconds + 1, connections)
                    wall = time.monotonic() - started
                    cpu = sum(stack.worker_cpu().values()) - sum(before.values())
                    say(f"  {ep.name:24} {res.rps:9.0f} req/s")
                    split = sampling.summarise(spies, tmp / ep.name, round(res.rps * seconds))
                    idle = 1 - cpu / (wall * len(before))
                    say(sampling.line(split, cpu / max(1, res.total), idle))
                    if ep.method == "POST":
                        stack.fixtures("release")
            results: dict[str, list[Result]] = {e.name: [] for e in eps}
            loads = []
            steals: list[float | None] = []
            baselines: dict[str, list[float]] = {e.name: [] for e in eps}

            def measure(ep: Endpoint) -> Result:
                base = stack.static_url() if ep.base == "static" else stack.url()
                before = stack.worker_cpu()
                servers_before = servers_cpu()
                lookups_before = stack.token_lookups()
                ticks = cpu_ticks()
                res = wrk(base, ep, seconds, connections)
                stolen = stolen_share(ticks, cpu_ticks())
                after = stack.worker_cpu()
                servers_after = servers_cpu()
                results[ep.name].append(res)
                note = f"  {res.bad} BAD of {res.total}" if res.bad else ""
                if ep.base == "app":  # each worker's CPU seconds in the run
                    spent = [after[p] - before.get(p, 0.0) for p in sorted(after)]
                    note += "  workers' CPU s " + " / ".join(f"{c:.1f}" for c in spent)
                    if res.total:  # what each request cost the workers and the servers
                        costs = {"workers": sum(spent)} | servers_spent(
                            servers_before, servers_after
                        )
                        note += "  CPU ms/req " + " ".join(
                            f"{name} {1000 * cpu / res.total:.2f}" for name, cpu in costs.items()
                        )
                    lookups = {
                        source: count - lookups_before.get(source, 0.0)
                        for source, count in stack.token_lookups().items()
                    }
                    if sum(lookups.values()):  # API tokens: the share looked up, not remembered
                        share = lookups.get("database", 0.0) / sum(lookups.values())
                        note += f"  tokens from db {share:.0%}"
                if stolen is not None:
                    note += f"  stolen {stolen:.0%}"
                say(
                    f"  {ep.name:24} {res.rps:9.0f} req/s  p50 {res.p50_ms:7.1f} ms"
                    f"  p99 {res.p99_ms:7.1f} ms{note}"
                )
                if ep.method == "POST":
                    stack.fixtures("release")
                return res

            health = next(e for e in eps if e.name == "healthz")
            for r in range(1, rounds + 1):
                round_ticks = cpu_ticks()
                say(f"== round {r}/{rounds} ({seconds:g} s per run, {connections} connections)")
                # Every run between two /healthz runs, its baseline their mean (bracketed):
                # the machine's speed drifts within a round, so a ratio against a /healthz
                # measured minutes earlier was partly that drift.
                previous = measure(health)
                baselines[health.name].append(previous.rps)
                for ep in eps:
                    if ep is health:
                        continue
                    measure(ep)
                    following = measure(health)
                    baselines[ep.name].append(bracketed(previous.rps, following.rps))
                    baselines[health.name].append(following.rps)  # its own: 1.00
                    previous = following
                loads.append(os.getloadavg()[0])
                steals.append(stolen_share(round_ticks, cpu_ticks()))
        finally:
            stack.stop()
    report(results, baselines, eps, loads, connections, steals)
    return 0


def bracketed(before: float, after: float) -> float:
    """The baseline of a run between two /healthz runs: their mean."""
    return (before + after) / 2


def report(
    results: dict[str, list[Result]],
    baselines: dict[str, list[float]],
    eps: list[Endpoint],
    loads: list[float],
    connections: int,
    steals: list[float | None] | None = None,
) -> None:
    static = results["static (nginx)"]
    say("")
    say(
        f"== results: median of {len(static)} rounds; each run's ratio against the mean of"
        " the /healthz runs just before and after it"
    )
    say(f"   load average (1 min) after each round: {', '.join(f'{x:.2f}' for x in loads)}")
    if steals and all(x is not None for x in steals):
        say(
            "   CPU taken by the host in each round (steal): "
            + ", ".join(f"{x:.0%}" for x in steals if x is not None)
        )
    say(
        f"{'endpoint':24} {'req/s':>8} {'x healthz':>10} {'(min)':>6} {'x static':>9}"
        f" {'p50 ms':>7} {'p99 ms':>7}  target"
    )
    failed = 0
    for ep in eps:
        rs = results[ep.name]
        ratios = [r.rps / b for r, b in zip(rs, baselines[ep.name], strict=True)]
        to_static = statistics.median(r.rps for r in rs) / statistics.median(s.rps for s in static)
        ratio = statistics.median(ratios)
        p50 = statistics.median(r.p50_ms for r in rs)
        p99 = max(r.p99_ms for r in rs)
        bad = sum(r.bad for r in rs)
        verdict = ""
        if ep.target is not None:
            ok = ratio >= ep.target and p99 < 100 and bad == 0
            failed += not ok
            verdict = f">= {ep.target:.1f}, p99 < 100 ms: {'met' if ok else 'NOT MET'}"
        if bad:
            verdict += f" ({bad} bad responses{'; ' + ep.bad_hint if ep.bad_hint else ''})"
        say(
            f"{ep.name:24} {statistics.median(r.rps for r in rs):8.0f} {ratio:10.2f}"
            f" {min(ratios):6.2f}"
            f" {to_static:9.3f} {p50:7.1f} {p99:7.1f}  {verdict}"
        )
    say(
        f"\n{failed} endpoint(s) short of target at {connections} connections"
        if failed
        else "\nall targets met"
    )


if __name__ == "__main__":
    sys.exit(main())
