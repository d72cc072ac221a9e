"""A real gunicorn serving this project on loopback, for the tests of what only a running
server shows (its metrics port, its sockets): development settings, SQLite under the test's
own folder, no DATABASE_URL, REDIS_URL or METRICS_PORT from the environment unless given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int,
    var_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    output: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """`gunicorn streamsite.wsgi` with the image's configuration and two workers on
    127.0.0.1:`port`, plus `args`; `env` adds to (or overrides) the server's environment."""
    server_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_"))
        and k not in {"DATABASE_URL", "REDIS_URL", "METRICS_PORT"}
    }
    server_env |= {
        "DJANGO_SETTINGS_MODULE": "streamsite.settings.dev",
        "STREAMSITE_VAR_DIR": str(var_dir),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "streamsite.wsgi",
        "--config", "python:streamsite.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", *args,
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=server_env, stdout=output, stderr=subprocess.STDOUT
    )
