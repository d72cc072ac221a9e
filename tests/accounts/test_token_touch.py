"""An API token's last use is noted in the process, sent to Redis in a batch off the request,
and written by a flush (beat)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import token_touch
from accounts.models import ApiToken
from accounts.services import api_token_touch
from bench.chaos import infra
from tests import clients
from tests.streamsite.conftest import needs_redis_server, wait_for

pytestmark = [pytest.mark.django_db, needs_redis_server, pytest.mark.needs_process]


@pytest.fixture
def redis_cache(settings, tmp_path):
    """The default cache on a redis-server of the test's own."""
    server = infra.RedisServer(tmp_path / "redis").start()
    settings.CACHES = {
        "default": {
            "BACKEND": "streamsite.cache.FailSoftRedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield server
    server.stop()


def _token_writes(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/me").status_code == 200
    return [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('UPDATE "accounts_api')
    ]


def _noted(server) -> dict[bytes, bytes]:
    import redis

    client = redis.Redis.from_url(server.url)
    found = {}
    for key in client.keys("*accounts:token-touch"):
        found.update(client.hgetall(key))
    client.close()
    return found


def test_a_request_notes_the_use_and_the_flush_writes_it_once(redis_cache, alice, bob):
    alice_client, bob_client = clients.token_client(alice), clients.token_client(bob)
    assert _token_writes(alice_client) == [] and _token_writes(bob_client) == []
    assert not ApiToken.objects.filter(last_used_at__isnull=False).exists()

    before = timezone.now()
    assert token_touch.flush() == 2
    used = dict(ApiToken.objects.values_list("user__email", "last_used_at"))
    assert all(before - timedelta(seconds=5) <= at <= before for at in used.values()), used
    assert token_touch.flush() == 0  # nothing noted since


def test_a_flush_that_dies_after_taking_the_noted_uses_is_finished_by_the_next(
    redis_cache, alice, bob, monkeypatch
):
    alice_client, bob_client = clients.token_client(alice), clients.token_client(bob)
    _token_writes(alice_client)
    real_write = token_touch._write

    def dies(entries):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(token_touch, "_write", dies)
    with pytest.raises(RuntimeError):
        token_touch.flush()
    _token_writes(bob_client)  # noted while alice's use waits under the taken key
    monkeypatch.setattr(token_touch, "_write", real_write)

    assert token_touch.flush() == 2
    assert ApiToken.objects.filter(last_used_at__isnull=False).count() == 2


def test_a_flush_never_moves_a_last_use_back(redis_cache, alice):
    clients.token_client(alice)
    token = ApiToken.objects.get(user=alice)
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    assert token_touch.note_later(token.pk, now - timedelta(hours=1))
    assert token_touch.flush() == 0
    token.refresh_from_db()
    assert token.last_used_at == now


def test_the_request_sends_nothing_and_the_batch_goes_on_its_own(redis_cache, alice, monkeypatch):
    """No Redis command of the request carries the use; the process's timer sends it within
    SEND_SECONDS, with no request."""
    from streamsite.cache import FailSoftRedisCache

    sent: list[object] = []
    original = FailSoftRedisCache.run

    def recording(self, command, fallback=None):
        sent.append(command)
        return original(self, command, fallback)

    monkeypatch.setattr(FailSoftRedisCache, "run", recording)
    client = clients.token_client(alice)
    assert _token_writes(client) == []
    assert sent == [] and _noted(redis_cache) == {}
    token = ApiToken.objects.get(user=alice)
    assert wait_for(lambda: list(_noted(redis_cache)) == [str(token.pk).encode()], 3.0)
    assert len(sent) == 1  # the batch's one HSET
    assert token_touch.flush() == 1


def test_uses_of_many_tokens_go_in_one_command_with_each_tokens_latest_time(redis_cache, alice):
    clients.token_client(alice)
    token = ApiToken.objects.get(user=alice)
    now = timezone.now()
    for seconds in (30, 10, 20):  # out of order: the latest is kept
        assert token_touch.note_later(token.pk, now - timedelta(seconds=seconds))
    assert token_touch.note_later(token.pk + 1000, now)
    assert token_touch.send() == 2
    noted = _noted(redis_cache)
    assert float(noted[str(token.pk).encode()]) == (now - timedelta(seconds=10)).timestamp()
    assert token_touch.send() == 0  # nothing since


def test_a_full_batch_is_sent_at_once(redis_cache, alice, monkeypatch):
    monkeypatch.setattr(token_touch, "MAX_BATCH", 3)
    monkeypatch.setattr(token_touch, "SEND_SECONDS", 60)  # only the full batch sends
    now = timezone.now()
    for token_id in (1, 2):
        token_touch.note_later(token_id, now)
    assert _noted(redis_cache) == {}
    token_touch.note_later(3, now)
    assert sorted(_noted(redis_cache)) == [b"1", b"2", b"3"]


def test_with_redis_away_the_batch_is_written_to_the_rows(dead_cache, alice):
    client = clients.token_client(alice)
    assert _token_writes(client) == []  # not on the request
    assert token_touch.send() == 1
    assert ApiToken.objects.get(user=alice).last_used_at is not None
    assert token_touch.flush() == 0


@pytest.mark.django_db(transaction=True)
def test_redis_gone_before_the_timer_sends_the_rows_are_written_by_it(
    redis_cache, alice, monkeypatch
):
    """Transactional: the timer's thread writes on its own connection, and closes it."""
    from django.db import connections

    closed_in: list[str] = []
    original = type(connections).close_all

    def recording(self):
        closed_in.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(type(connections), "close_all", recording)
    client = clients.token_client(alice)
    assert _token_writes(client) == []
    redis_cache.stop()
    assert wait_for(lambda: ApiToken.objects.get(user=alice).last_used_at is not None, 3.0)
    assert wait_for(lambda: len(closed_in) == 1)
    assert closed_in != [threading.current_thread().name]  # the timer's thread, not the test's


def test_a_forked_child_starts_with_no_batch(redis_cache, alice):
    """The parent sends what it noted; a child (a prefork pool's new worker) starts empty, with
    no timer and a lock of its own."""
    now = timezone.now()
    token_touch.note_later(7, now)
    pid = os.fork()
    if pid == 0:  # the child
        batch = token_touch._batch
        ok = batch.stamps == {} and batch.timer is None and batch.lock.acquire(timeout=1)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert token_touch.send() == 1


def test_a_noted_use_is_not_noted_again_within_the_interval(redis_cache, alice):
    clients.token_client(alice)
    token = ApiToken.objects.get(user=alice)
    now = timezone.now()
    api_token_touch(token=token, now=now)
    api_token_touch(token=token, now=now + timedelta(seconds=5))
    assert token_touch.send() == 1
    assert float(_noted(redis_cache)[str(token.pk).encode()]) == now.timestamp()


def test_a_refused_first_request_notes_no_use(redis_cache, alice):
    client = clients.token_client(alice)
    ApiToken.objects.filter(user=alice).update(revoked_at=timezone.now())  # no epoch bump
    assert client.get("/api/v1/me").status_code == 401
    assert token_touch.flush() == 0
    assert ApiToken.objects.get(user=alice).last_used_at is None


def test_a_disabled_account_s_first_request_notes_no_use(redis_cache, alice):
    client = clients.token_client(alice)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)  # no epoch bump
    assert client.get("/api/v1/me").status_code == 401
    assert token_touch.flush() == 0
    assert ApiToken.objects.get(user=alice).last_used_at is None
