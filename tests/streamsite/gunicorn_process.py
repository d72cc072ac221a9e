"""A real gunicorn serving this project on loopback, for the tests of what only a running
server shows (its metrics port, its sockets): development settings, SQLite under the test's
own folder, the environment of the chaos suite's children (bench.chaos.infra.base_env: no
DATABASE_URL or REDIS_URL) and no METRICS_PORT unless given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO

from bench.chaos import infra

ROOT = Path(__file__).resolve().parents[2]


def start_gunicorn(
    port: int,
    var_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    output: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """`gunicorn streamsite.wsgi` with the image's configuration and two workers on
    127.0.0.1:`port`, plus `args`; `env` adds to (or overrides) the server's environment."""
    server_env = infra.base_env()
    server_env.pop("METRICS_PORT", None)
    server_env.update({"STREAMSITE_VAR_DIR": str(var_dir), **(env or {})})
    command = [
        sys.executable, "-m", "gunicorn", "streamsite.wsgi",
        "--config", "python:streamsite.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", *args,
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=server_env, stdout=output, stderr=subprocess.STDOUT
    )
