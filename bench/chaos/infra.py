"""Processes the chaos suite owns and breaks: a RabbitMQ node, Redis servers, Celery workers,
gunicorn. Each binds 127.0.0.1 on a free port, lives in its own process group and is stopped by
whoever started it. Nothing here touches a service someone else runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a child Django process: ours minus pytest's and Django's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "CELERY_", "COV_"))
        and k not in {"REDIS_URL", "DATABASE_URL"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "streamsite.settings.dev", "LOG_FORMAT": "text"})
    env.update(extra)
    return env


class Process:
    """A child in its own process group: SIGKILL hits the Celery parent and its pool at once."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.argv, self.env, self.log_path, self.cwd = argv, env, log, cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown handler runs, no message is acknowledged."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def celery_worker(
    *,
    env: dict[str, str],
    log: Path,
    queues: Iterable[str] = ("default", "batch"),
    concurrency: int = 2,
    name: str | None = None,
    include: Iterable[str] = (),
) -> Process:
    argv = [
        str(BIN / "celery"),
        "-A",
        "streamsite",
        "worker",
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"{name or 'chaos-' + uuid.uuid4().hex[:6]}@%h",
    ]
    if include:
        argv += ["--include", ",".join(include)]
    return Process(argv, env=env, log=log)


class RedisServer:
    """A throwaway redis-server on a free port (never the shared one on 6379)."""

    def __init__(self, workdir: Path, *, appendfsync_always: bool = False):
        self.dir = workdir
        self.port = free_port()
        self.appendfsync_always = appendfsync_always
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        persist = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.appendfsync_always
            else ["--appendonly", "no"]
        )
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        argv += [*persist, "--dir", str(self.dir)]
        self.process = Process(argv, env=dict(os.environ), log=self.dir / "redis.log").start()
        if not wait_until(lambda: port_open(self.port), timeout=15):
            raise RuntimeError("redis-server did not start: " + self.process.tail())
        return self

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop()


class RabbitNode:
    """A throwaway RabbitMQ node of our own (its own name, ports and data directory).

    `kill()` SIGKILLs its Erlang VM, the harshest broker restart; `start()` again brings it
    back on the same data, so durable queues and confirmed messages must still be there.
    """

    def __init__(self, workdir: Path, *, name: str | None = None):
        self.dir = workdir
        self.name = name or f"chaos_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.dist_port = free_port()
        self.launcher: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("rabbitmq-server") is not None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        d = str(self.dir)
        return {
            **os.environ,
            "RABBITMQ_NODENAME": f"{self.name}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{d}/mnesia",
            "RABBITMQ_FEATURE_FLAGS_FILE": f"{d}/feature_flags",
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_LOG_BASE": f"{d}/log",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins",
            "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq",
            "RABBITMQ_PID_FILE": f"{d}/beam.pid",
            "ERL_CRASH_DUMP": f"{d}/erl_crash.dump",
        }

    def start(self, timeout: float = 120) -> float:
        """Start (or restart) the node; returns the seconds it took to accept connections."""
        started = time.monotonic()
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        if os.geteuid() == 0:  # the server script drops to the rabbitmq user
            subprocess.run(["chown", "-R", "rabbitmq:", str(self.dir)], check=False)
        log = (self.dir / "server.log").open("ab")
        self.launcher = subprocess.Popen(
            ["rabbitmq-server"],
            cwd=self.dir,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: port_open(self.port), timeout=timeout, interval=0.25):
            raise RuntimeError("RabbitMQ node did not start: " + self.tail())
        return time.monotonic() - started

    def _beam_pid(self) -> int | None:
        try:
            return int((self.dir / "beam.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL this node's VM (found by its own pid file, never by name)."""
        pid = self._beam_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_until(lambda: not port_open(self.port), timeout=30)
        if self.launcher is not None:
            try:
                self.launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
                self.launcher.wait()
        (self.dir / "beam.pid").unlink(missing_ok=True)

    def tail(self, chars: int = 2000) -> str:
        try:
            return (self.dir / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def sh(argv: list[str], *, timeout: float = 60) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout).stdout


class Vhost:
    """A vhost of its own on the machine's RabbitMQ (the default vhost is never touched)."""

    def __init__(self, name: str, *, host: str = "127.0.0.1", port: int = 5672):
        self.name, self.host, self.port = name, host, port

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.port}/{self.name}"

    def create(self) -> Vhost:
        existing = sh(["rabbitmqctl", "-q", "list_vhosts"]).split()
        if self.name not in existing:
            sh(["rabbitmqctl", "-q", "add_vhost", self.name])
        sh(["rabbitmqctl", "-q", "set_permissions", "-p", self.name, "guest", ".*", ".*", ".*"])
        return self

    def delete(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.name], capture_output=True)

    def purge(self, queues: Iterable[str]) -> None:
        """Delete these queues and their exchanges (the next worker declares them again)."""
        from kombu import Connection

        with Connection(self.url, connect_timeout=5) as conn:
            channel = conn.channel()
            for queue in queues:
                channel.queue_delete(queue)
                channel.exchange_delete(queue)


class SmallDisk:
    """A tmpfs of a few megabytes mounted on a folder of the run (needs root): a real disk
    that fills, ENOSPC and all. `unavailable()` says why it cannot be had here."""

    def __init__(self, path: Path, megabytes: int):
        self.path, self.megabytes = path, megabytes
        self.mounted = False

    @staticmethod
    def unavailable() -> str | None:
        if os.geteuid() != 0:
            return "mounting a small tmpfs needs root"
        if shutil.which("mount") is None:
            return "needs mount(8)"
        # Root in a container may still lack the right to mount: try once.
        probe = Path(tempfile.mkdtemp(prefix="chaos-mount-probe-"))
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if done.returncode != 0:
                return f"cannot mount a tmpfs here: {done.stderr.strip()[:200]}"
            subprocess.run(["umount", str(probe)], capture_output=True, timeout=30)
            return None
        finally:
            probe.rmdir()

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        sh(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={self.megabytes}m,mode=0777",
                "tmpfs",
                str(self.path),
            ]
        )
        self.mounted = True
        return self

    def resize(self, megabytes: int) -> None:
        sh(["mount", "-o", f"remount,size={megabytes}m", str(self.path)])
        self.megabytes = megabytes

    def free(self) -> int:
        return shutil.disk_usage(self.path).free

    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
        )

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.path)], check=False, capture_output=True)
            self.mounted = False
