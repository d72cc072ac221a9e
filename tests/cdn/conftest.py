"""cdn fixtures: an isolated health store per test, real nginx edges in front of an origin."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cdn import health as health_module
from cdn.steering import holder


@pytest.fixture(autouse=True)
def cdn_store(settings) -> Iterator[health_module.Store]:
    """Each test gets its own Redis key prefix (or a fresh local store) and a fresh steerer."""
    settings.CDN_REDIS_PREFIX = f"cdn-test-{uuid.uuid4().hex[:10]}"
    settings.CDN_REFRESH_SECONDS = 0.0
    health_module._store = None
    holder.reset()
    store = health_module.get_store()
    yield store
    if isinstance(store, health_module.RedisStore):
        store.clear()
    health_module._store = None
    holder.reset()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Origin:
    root: Path
    url: str  # http://127.0.0.1:<port>/media/
    requests: list[str]


@pytest.fixture
def origin(tmp_path) -> Iterator[Origin]:
    """A tiny HTTP server serving <tmp>/origin/media/ (what MEDIA_ROOT would hold)."""
    root = tmp_path / "origin"
    (root / "media").mkdir(parents=True)
    seen: list[str] = []

    class Handler(_Quiet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Origin(
        root=root / "media", url=f"http://127.0.0.1:{server.server_port}/media/", requests=seen
    )
    server.shutdown()
    server.server_close()


def write_asset(media_root: Path, prefix: str, segments: int = 3, size: int = 4096) -> list[str]:
    """An HLS-shaped tree: master → one rendition playlist → segments."""
    base = media_root / prefix
    (base / "720p").mkdir(parents=True, exist_ok=True)
    (base / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n720p/index.m3u8\n"
    )
    names = [f"seg{i}.ts" for i in range(segments)]
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:4"]
    for name in names:
        lines += ["#EXTINF:4.0,", name]
        (base / "720p" / name).write_bytes(os.urandom(size))
    lines.append("#EXT-X-ENDLIST")
    (base / "720p" / "index.m3u8").write_text("\n".join(lines) + "\n")
    return ["master.m3u8", "720p/index.m3u8", *[f"720p/{n}" for n in names]]


@dataclass
class NginxEdge:
    name: str
    port: int
    prefix: Path
    process: subprocess.Popen | None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def kill(self) -> None:
        """Die hard: SIGKILL to this edge's own process group (master and workers together)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@pytest.fixture
def nginx_edges(tmp_path, origin) -> Iterator[callable]:
    """Start real nginx edges (Debian's package) rendered by cdn_nginx_config."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run .ci/packages.sh")
    from django.core.management import call_command

    started: list[NginxEdge] = []

    def start(name: str, *, origin_url: str | None = None, **render: object) -> NginxEdge:
        """An edge in front of `origin_url` (default: the Python test origin); `render` is
        handed to cdn_nginx_config (e.g. `pin_list`)."""
        port = free_port()
        prefix = tmp_path / f"nginx-{name}"
        conf = prefix / "nginx.conf"
        prefix.mkdir()
        call_command(
            "cdn_nginx_config",
            name=name,
            listen=f"127.0.0.1:{port}",
            origin=origin_url or origin.url,
            prefix=str(prefix),
            user="root" if os.geteuid() == 0 else None,
            output=str(conf),
            stdout=open(os.devnull, "w"),  # noqa: SIM115
            **render,
        )
        process = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so kill() takes the workers too
        )
        edge = NginxEdge(name=name, port=port, prefix=prefix, process=process)
        started.append(edge)

        def ready():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                return False

        wait_until(ready, timeout=10)
        return edge

    yield start
    for edge in started:
        if edge.process and edge.process.poll() is None:
            edge.process.send_signal(signal.SIGQUIT)
            try:
                edge.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                edge.kill()


def stop_nginx(process: subprocess.Popen) -> None:
    """A graceful stop (SIGQUIT), then the whole process group killed after 5 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _start_nginx(prefix: Path, conf: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so kill() takes the workers too
    )

    def ready():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            return False

    wait_until(ready, timeout=10)
    return process


@dataclass
class NginxOrigin:
    port: int
    prefix: Path
    media_root: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        """The origin's media base, what CDN_ORIGIN_URL and the edges' --origin name."""
        return f"http://127.0.0.1:{self.port}/media/"

    def requests(self) -> list[str]:
        """The paths nginx logged, in order (the access log's request line)."""
        log = self.prefix / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split('"')[1].split(" ")[1] for line in lines if '"' in line]


@pytest.fixture
def nginx_origin(tmp_path) -> Iterator[callable]:
    """Start the media origin (Debian's nginx) rendered by cdn_origin_config over a media root."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run .ci/packages.sh")
    from django.core.management import call_command

    started: list[NginxOrigin] = []

    def start(
        media_root: Path, *, fill_from: tuple[str, ...] = (), lists_dir: Path | None = None
    ) -> NginxOrigin:
        port = free_port()
        prefix = tmp_path / f"nginx-origin-{len(started)}"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        call_command(
            "cdn_origin_config",
            listen=f"127.0.0.1:{port}",
            media_root=str(media_root),
            prefix=str(prefix),
            fill_from=list(fill_from),
            lists_dir=str(lists_dir) if lists_dir else None,
            user="root" if os.geteuid() == 0 else None,
            output=str(conf),
            stdout=open(os.devnull, "w"),  # noqa: SIM115
        )
        origin = NginxOrigin(
            port=port,
            prefix=prefix,
            media_root=media_root,
            process=_start_nginx(prefix, conf, port),
        )
        started.append(origin)
        return origin

    yield start
    for origin in started:
        stop_nginx(origin.process)
