"""Real Celery workers against both brokers the settings accept: tasks round-trip through
RabbitMQ (quorum queues, confirmed publishes) and through Redis, and a SIGKILLed worker's task
comes back from RabbitMQ at once instead of after a visibility timeout."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from bench.chaos import infra
from tests.streamsite.conftest import needs_rabbitmq, needs_redis_server

# Real Celery workers, a redis-server of its own, rabbitmqctl.
pytestmark = [pytest.mark.slow, pytest.mark.needs_process]


def _client(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [infra.PYTHON, "-m", "tests.streamsite.celery_probe", *args],
        cwd=infra.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _round_trip(env: dict[str, str], tmp_path: Path) -> None:
    worker = infra.celery_worker(env=env, log=tmp_path / "worker.log").start()
    try:
        # On RabbitMQ the worker declares the delayed-delivery exchanges a countdown goes
        # through at start-up: send once it says it is ready.
        assert infra.wait_until(lambda: "ready." in worker.tail(), timeout=120), worker.tail()
        assert _client(env, "ping", "5") == json.dumps(["pong"] * 6), worker.tail()
    finally:
        worker.stop()


@needs_rabbitmq
@needs_redis_server
def test_tasks_round_trip_through_rabbitmq_on_quorum_queues(amqp_vhost, redis_server, tmp_path):
    env = infra.base_env(CELERY_BROKER_URL=amqp_vhost.url, CELERY_RESULT_BACKEND=redis_server.url)
    _round_trip(env, tmp_path)

    listing = infra.sh(
        ["rabbitmqctl", "-q", "list_queues", "-p", amqp_vhost.name, "name", "type", "durable"]
    )
    queues = {line.split()[0]: line.split()[1:] for line in listing.splitlines()[1:]}
    assert queues["default"] == ["quorum", "true"]
    assert queues["batch"] == ["quorum", "true"]


@needs_redis_server
def test_tasks_round_trip_through_redis(redis_server, tmp_path):
    env = infra.base_env(CELERY_BROKER_URL=redis_server.url, CELERY_RESULT_BACKEND=redis_server.url)
    _round_trip(env, tmp_path)


@needs_rabbitmq
def test_a_sigkilled_workers_task_is_redelivered_within_two_minutes(amqp_vhost, tmp_path):
    env = infra.base_env(CELERY_BROKER_URL=amqp_vhost.url)
    probe = tmp_path / "probe.jsonl"
    worker = infra.celery_worker(
        env=env, log=tmp_path / "w1.log", include=["tests.streamsite.celery_probe"]
    ).start()
    second = infra.celery_worker(
        env=env, log=tmp_path / "w2.log", include=["tests.streamsite.celery_probe"]
    )
    try:
        assert _client(env, "hold", str(probe), "60") == "sent"
        assert infra.wait_until(lambda: len(_events(probe)) == 1, timeout=60), worker.tail()

        worker.kill()
        killed_at = time.time()
        second.start()
        Path(str(probe) + ".release").touch()
        assert infra.wait_until(
            lambda: [e["event"] for e in _events(probe)] == ["start", "start", "done"],
            timeout=120,
        ), second.tail()
    finally:
        worker.kill()
        second.stop()

    first, again, done = _events(probe)
    assert first["redelivered"] is False
    assert again["redelivered"] is True
    assert again["pid"] == done["pid"] != first["pid"]
    assert again["at"] - killed_at < 120
