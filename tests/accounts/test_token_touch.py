"""An API token's last use is noted in Redis on the request and written by a flush (beat)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import token_touch
from accounts.models import ApiToken
from bench.chaos import infra
from tests import clients
from tests.streamsite.conftest import needs_redis_server

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
    assert token_touch.note(token.pk, now - timedelta(hours=1))
    assert token_touch.flush() == 0
    token.refresh_from_db()
    assert token.last_used_at == now


def test_with_redis_away_the_request_writes_the_row_itself(dead_cache, alice):
    client = clients.token_client(alice)
    assert len(_token_writes(client)) == 1
    assert ApiToken.objects.get(user=alice).last_used_at is not None
    assert token_touch.flush() == 0


def test_a_tokens_first_request_notes_its_use_in_the_counters_round_trip(
    redis_cache, alice, monkeypatch
):
    """One round trip carries the auth epoch, the user's throttle window and the noted use; the
    note is not sent again on its own."""
    from streamsite.cache import FailSoftRedisCache

    trips: list[tuple[list[str], list[str], list[tuple]]] = []
    original = FailSoftRedisCache.get_many_and_count

    def recording(self, keys, counters, writes=None):
        trips.append((list(keys), list(counters), list(writes or [])))
        return original(self, keys, counters, writes)

    monkeypatch.setattr(FailSoftRedisCache, "get_many_and_count", recording)
    monkeypatch.setattr(token_touch, "note", lambda *a: pytest.fail("noted on its own"))
    client = clients.token_client(alice)
    assert _token_writes(client) == []
    assert len(trips) == 1, trips
    keys, counters, writes = trips[0]
    token = ApiToken.objects.get(user=alice)
    assert any(k.endswith("auth-epoch") for k in keys)
    assert [c for c in counters if c.startswith(f"throttle_user_{alice.pk}:")]
    assert [w[0] for w in writes] == ["HSET"] and writes[0][2] == str(token.pk)
    assert token_touch.flush() == 1


def test_redis_gone_between_the_row_and_the_trip_writes_the_row_itself(
    redis_cache, alice, monkeypatch
):
    """The note rode with a round trip that failed: the request writes the use itself."""
    from accounts import token_cache

    client = clients.token_client(alice)
    original = token_cache._token_with_profile

    def row_then_redis_dies(digest, profile_id):
        token = original(digest, profile_id)
        redis_cache.stop()
        return token

    monkeypatch.setattr(token_cache, "_token_with_profile", row_then_redis_dies)
    assert len(_token_writes(client)) == 1
    assert ApiToken.objects.get(user=alice).last_used_at is not None


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
