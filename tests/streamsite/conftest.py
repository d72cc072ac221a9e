"""Real brokers for the tests that run Celery workers: a vhost of our own on the machine's
RabbitMQ (CI starts it: .ci/services.sh) and a throwaway Redis on a free port."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from bench.chaos import infra

#: each xdist worker gets the vhost <prefix>_<worker>, created once and deleted at the end
VHOST_PREFIX = os.environ.get("STREAMSITE_TEST_AMQP_VHOST", "streamsite_test")
QUEUES = ("default", "batch", "long", "transcode")


def rabbitmq_reachable() -> bool:
    return shutil.which("rabbitmqctl") is not None and infra.port_open(5672)


needs_rabbitmq = pytest.mark.skipif(
    not rabbitmq_reachable(), reason="needs RabbitMQ on 127.0.0.1:5672 (CI starts it)"
)
needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server binary"
)


@pytest.fixture(scope="session")
def _amqp_vhost():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    vhost = infra.Vhost(f"{VHOST_PREFIX}_{worker}").create()
    yield vhost
    vhost.delete()


@pytest.fixture
def amqp_vhost(_amqp_vhost):
    """The session's vhost with every task queue deleted before the test."""
    _amqp_vhost.purge(QUEUES)
    return _amqp_vhost


@pytest.fixture
def redis_server(tmp_path):
    server = infra.RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(redis_server, settings):
    """The default cache on a redis-server of the test's own, near copies and batched throttle
    windows on: production's request path."""
    from streamsite import window_counts
    from streamsite.cache import _NEAR

    settings.CACHES = {
        "default": {"BACKEND": "streamsite.cache.FailSoftRedisCache", "LOCATION": redis_server.url}
    }
    settings.CACHE_NEAR_SECONDS = 300
    settings.API_THROTTLE_SYNC_MS = 60_000  # no batch falls due during the test
    window_counts.forget()
    yield redis_server
    window_counts.forget()
    near = _NEAR.pop(redis_server.url, None)
    if near is not None:
        near.close()


def wait_for(predicate, seconds=2.0):
    """Whether `predicate()` came true within `seconds` (asked every 5 ms)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def wsgi_in_process():
    """Call the WSGI application directly (httpx's WSGITransport, schemathesis) inside a test's
    transaction, as Django's test client does: the request signals must not close the test's
    database connection (on PostgreSQL that ends the test's transaction under it)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def second_connection():
    """A connection of its own to the test database (PostgreSQL, autocommit): to see what the
    test's connection committed, or to act on it from outside (terminate its backend)."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        yield other
