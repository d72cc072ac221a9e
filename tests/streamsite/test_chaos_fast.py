"""The chaos suite's fast subset (`python -m bench.chaos --fast`): real workers on a RabbitMQ
node of its own, the worker SIGKILLed and the broker restarted, PostgreSQL backends
terminated, a transcode worker SIGKILLed mid-encode, the disk full at upload and at encode
(a tmpfs, so as root only), the Redis cache killed under gunicorn. Nothing may be lost or
duplicated."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from django.db import connection

from bench.chaos import infra

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_ffmpeg,  # scenarios c and d encode
    pytest.mark.needs_process,  # mount(8), to learn whether (d) can run here
    pytest.mark.skipif(
        connection.vendor != "postgresql"
        or shutil.which("rabbitmq-server") is None
        or shutil.which("redis-server") is None,
        reason="needs a postgres DATABASE_URL, rabbitmq-server and redis-server (CI has all)",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_the_fast_chaos_subset_loses_and_duplicates_nothing(tmp_path):
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    database_url = (
        f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    out = tmp_path / "chaos.json"
    connection.close()  # the harness migrates and writes this database from other processes
    # (d) mounts a small tmpfs to fill: it needs root (CI runs as root).
    keys = "a,b,c,d,e" if infra.SmallDisk.unavailable() is None else "a,b,c,e"
    done = subprocess.run(
        [infra.PYTHON, "-m", "bench.chaos", "--fast", "--only", keys, "--json", str(out)],
        cwd=infra.ROOT,
        env=infra.base_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    outcomes = json.loads(out.read_text())
    assert [(o["scenario"], o["kind"]) for o in outcomes] == [
        ("a", "email"),
        ("a", "webhook"),
        ("b", "email"),
        ("b", "webhook"),
        ("c", "transcodes ready once"),
        ("c", "resumed within 120 s"),
        *(
            [("d", "uploads, media disk full"), ("d", "encode, scratch disk full")]
            if "d" in keys
            else []
        ),
        ("e", "pages, cache up"),
        ("e", "pages, cache down"),
        ("e", "pages, cache back"),
    ]
    for o in outcomes:
        assert (o["lost"], o["duplicated"], o["observed"]) == (0, 0, o["expected"]), o
    assert [o["expected"] for o in outcomes[:6]] == [150, 150, 100, 100, 2, 2]
