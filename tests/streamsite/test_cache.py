"""The cache fails soft: with Redis down, reads miss and writes are dropped, pages render."""

from __future__ import annotations

import pytest

from bench.chaos import infra
from streamsite.cache import FailSoftRedisCache
from tests.streamsite.conftest import needs_redis_server


def _cache(url: str) -> FailSoftRedisCache:
    return FailSoftRedisCache(url, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})


def test_with_redis_unreachable_reads_miss_and_writes_are_dropped():
    dead = _cache(f"redis://127.0.0.1:{infra.free_port()}/0")
    assert dead.get("k", "default") == "default"
    assert dead.set("k", 1) is None
    assert dead.add("k", 1) is False
    assert dead.get_many(["a", "b"]) == {}
    assert dead.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert dead.has_key("k") is False
    assert dead.delete("k") is False
    with pytest.raises(ValueError):
        dead.incr("k")


@needs_redis_server
@pytest.mark.needs_process  # starts a redis-server of its own
def test_the_cache_serves_again_once_redis_is_back(redis_server, monkeypatch):
    live = _cache(redis_server.url)
    live.set("k", "v")
    assert live.get("k") == "v"
    redis_server.kill()
    assert live.get("k") is None
    redis_server.start()
    assert live.get("k") is None  # still inside the retry interval: Redis is not asked
    now = [0.0]
    monkeypatch.setattr("streamsite.cache.time.monotonic", lambda: now[0])
    live._down_until = 5.0
    now[0] = 6.0
    live.set("k", "again")
    assert live.get("k") == "again"


@pytest.mark.django_db
def test_pages_render_with_the_cache_down(client, dead_cache):
    assert [client.get(page).status_code for page in ("/", "/login/", "/healthz")] == [
        200,
        200,
        200,
    ]


@needs_redis_server
@pytest.mark.needs_process  # starts a redis-server of its own
def test_one_redis_client_per_pool_and_incr_in_one_round_trip(redis_server):
    live = _cache(redis_server.url)
    client = live._cache.get_client(None, write=True)
    assert live._cache.get_client("other", write=True) is client  # not a new one per call
    sent = []
    original = client.execute_command

    def counting(*args, **kwargs):
        sent.append(args[0])
        return original(*args, **kwargs)

    client.execute_command = counting
    live.set("n", 5)
    assert live.incr("n") == 6  # the first call also loads the script into Redis
    sent.clear()
    assert live.incr("n", 2) == 8
    assert sent == ["EVALSHA"]  # one round trip, not EXISTS then INCRBY
    assert live.get("n") == 8
    with pytest.raises(ValueError, match="not found"):
        live.incr("missing")
    assert live.get("missing") is None  # not created by the failed incr


@needs_redis_server
@pytest.mark.needs_process  # starts a redis-server of its own
def test_reads_and_counts_in_one_round_trip_across_a_dropped_connection(redis_server, monkeypatch):
    import redis
    from redis.connection import AbstractConnection

    live = _cache(redis_server.url)
    live.set("a", {"x": 1})
    writes = []
    send = AbstractConnection.send_packed_command

    def counting(self, packed, *args, **kwargs):
        writes.append(packed)
        return send(self, packed, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    def trips():  # writes carrying the request's commands (a new connection also says HELLO)
        return sum(1 for packed in writes if b"MGET" in b"".join(packed))

    assert live.get_many_and_count(["a", "b"], {"w": 60}) == ({"a": {"x": 1}}, {"w": 1})
    assert trips() == 1 and b"INCR" in b"".join(writes[-1])  # one write: MGET, SET NX, INCR
    # The server drops every client (a restart does the same): the call still answers.
    redis.Redis.from_url(redis_server.url).client_kill_filter(_type="normal", skipme=True)
    assert live.get_many_and_count(["a", "b"], {"w": 60}) == ({"a": {"x": 1}}, {"w": 2})
    # A connection that fails mid-trip is dropped and the trip made again on a new one.
    failed = []

    def failing_once(self, packed, *args, **kwargs):
        if not failed and b"MGET" in b"".join(packed):
            failed.append(self)
            raise redis.exceptions.ConnectionError("reset by peer")
        return counting(self, packed, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", failing_once)
    assert live.get_many_and_count(["a", "b"], {"w": 60}) == ({"a": {"x": 1}}, {"w": 3})
    assert len(failed) == 1 and trips() == 3  # the failed write was not counted
    assert live._down_until == 0.0  # not taken for an outage
    window = live.make_and_validate_key("w")
    assert 0 < redis.Redis.from_url(redis_server.url).ttl(window) <= 60  # the window expires


@needs_redis_server
@pytest.mark.needs_process  # starts a redis-server of its own
def test_an_error_reply_is_raised_after_every_reply_is_read(redis_server):
    import redis

    live = _cache(redis_server.url)
    live.set("a", 1)
    raw = redis.Redis.from_url(redis_server.url)
    raw.set(live.make_and_validate_key("bad"), "not a number")
    with pytest.raises(redis.exceptions.ResponseError):
        live.get_many_and_count(["a"], {"bad": 60, "w": 60})
    # The socket stayed in step: the next round trip reads its own replies.
    assert live.get_many_and_count(["a"], {"w": 60}) == ({"a": 1}, {"w": 2})


@pytest.mark.parametrize("packer", ["hiredis", "redis-py"])
def test_the_round_trip_packs_its_commands_as_redis_py_does(packer, monkeypatch):
    from redis.connection import Connection

    from streamsite import cache as module

    if packer == "redis-py":
        monkeypatch.setattr(module, "hiredis", None)
    conn = Connection()
    commands = [("MGET", ":1:a", ":1:ünïcode"), ("SET", "w", 0, "EX", 61, "NX"), ("INCR", "w")]
    assert b"".join(module._pack(conn, commands)) == b"".join(conn.pack_commands(commands))
