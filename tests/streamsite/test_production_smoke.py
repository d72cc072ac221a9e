"""The production shape (`make up`: gunicorn, Celery workers and beat) against real PostgreSQL,
Redis and RabbitMQ: it becomes ready, runs a task through the broker, and stops cleanly on
Ctrl-C."""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.streamsite.conftest import needs_rabbitmq

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_process,
    pytest.mark.skipif(
        not settings.REDIS_URL or connection.vendor != "postgresql",
        reason="the production shape needs a postgres DATABASE_URL and REDIS_URL (CI sets both)",
    ),
    needs_rabbitmq,
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.filterwarnings("ignore:Results are not stored:RuntimeWarning")
def test_make_up_becomes_ready_runs_tasks_and_stops_cleanly(tmp_path, amqp_vhost):
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    database_url = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    port = _free_port()
    # This xdist worker's own Redis database (the one its cache uses, emptied between tests):
    # the site's cache is then its own, and claimed for the test's database at its first
    # /readyz (streamsite.cache_claim), whatever other sites left in the shared one.
    redis_url = urlunsplit(
        urlsplit(settings.REDIS_URL)._replace(
            path=urlsplit(settings.CACHES["default"]["LOCATION"]).path
        )
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "smoke-" + "x" * 30 + "0123456789abcdefghijklmnop",
        # Production requires its own signing secrets: random ones, as CI passes them.
        "CDN_SIGNING_SECRETS": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BILLING_SANDBOX_WEBHOOK_SECRET": "smoke-webhook-" + "y" * 30,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "CELERY_CONCURRENCY": "1",
        "STREAMSITE_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": amqp_vhost.url,
    }
    log = (tmp_path / "up.log").open("w")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "up"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status, body = 0, {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/readyz")
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        output = (tmp_path / "up.log").read_text()
        assert status == 200, output[-3000:]
        assert body["status"] == "ok"
        assert body["checks"]["broker"]["ok"] is True
        assert "detail" not in body["checks"]["broker"]  # a real broker, not in-process

        # The workers declare the delayed-delivery exchanges the probe's countdown task needs;
        # a ready web says nothing of them (they start after their cache check).
        deadline = time.monotonic() + 60
        while (tmp_path / "up.log").read_text().count(" ready.") < 2:
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()[-3000:]
            time.sleep(0.2)

        # Sent by a process configured like the site (quorum queues, confirmed publishes).
        client_env = {
            **{k: v for k, v in env.items() if k != "SECRET_KEY"},
            "DJANGO_SETTINGS_MODULE": "streamsite.settings.dev",
            "CELERY_RESULT_BACKEND": redis_url,
        }
        sent = subprocess.run(
            [".venv/bin/python", "-m", "tests.streamsite.celery_probe", "ping", "1"],
            cwd=ROOT,
            env=client_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.stdout.strip().splitlines()[-1:] == ['["pong", "pong"]'], (
            sent.stderr[-2000:] + (tmp_path / "up.log").read_text()[-3000:]
        )
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("make up did not stop within 60 s of Ctrl-C")
        log.close()

    output = (tmp_path / "up.log").read_text()
    for process in ("web.1", "worker.1", "longworker.1", "beat.1", "cdnhealth.1"):
        assert process in output, output[-3000:]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # gunicorn is gone: nothing listens any more
