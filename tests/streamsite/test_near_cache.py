"""Near copies of kept keys: no round trip while Redis has not said a key changed, and never a
copy that Redis said changed, that this process changed, or that outlived its connection."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest
import redis as redis_py

from streamsite import near_cache
from streamsite.cache import _NEAR, FailSoftRedisCache
from tests.streamsite.conftest import needs_redis_server, wait_for

pytestmark = [needs_redis_server, pytest.mark.needs_process]  # a redis-server of its own


@pytest.fixture
def live(redis_server, settings, monkeypatch):
    settings.CACHE_NEAR_SECONDS = 300
    monkeypatch.setattr(near_cache, "_KEPT", ["near:"])
    cache = FailSoftRedisCache(
        redis_server.url, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
    )
    yield cache
    near = _NEAR.pop(redis_server.url, None)
    if near is not None:
        near.close()


def other_process(server):
    """A client of the same Redis that is not this process's cache: another process's writes."""
    return redis_py.Redis.from_url(server.url)


def test_a_kept_key_is_read_once_then_answered_here_and_others_always_go(live, redis_trips):
    live.set("near:a", {"v": 1})
    live.set("far:b", 2)
    both = ({"near:a": {"v": 1}, "far:b": 2}, {})
    assert live.get_many_and_count(["near:a", "far:b"], {}) == both
    assert redis_trips == [["MGET"]]
    assert live.get_many_and_count(["near:a", "far:b"], {}) == both
    assert redis_trips[1] == ["MGET"]  # far:b only
    assert live.get_many_and_count(["near:a"], {}) == ({"near:a": {"v": 1}}, {})
    assert len(redis_trips) == 2  # no round trip at all
    # Each answer is decoded afresh: changing one never changes the next.
    live.get_many_and_count(["near:a"], {})[0]["near:a"]["v"] = 99
    assert live.get_many_and_count(["near:a"], {})[0] == {"near:a": {"v": 1}}


def test_an_absent_key_is_kept_as_absent_until_it_is_written(live, redis_trips, redis_server):
    assert live.get_many_and_count(["near:none"], {}) == ({}, {})
    assert live.get_many_and_count(["near:none"], {}) == ({}, {})
    assert len(redis_trips) == 1
    live.set("near:none", "here")  # this process: its copy goes at once
    assert live.get_many_and_count(["near:none"], {}) == ({"near:none": "here"}, {})


def test_another_processs_write_expiry_and_flush_reach_the_copies(live, redis_server):
    live.set("near:a", "one")
    live.set("near:b", "two", timeout=1)
    assert live.get_many_and_count(["near:a", "near:b"], {})[0] == {
        "near:a": "one",
        "near:b": "two",
    }
    other = other_process(redis_server)
    other.set(live.make_key("near:a"), live._cache._serializer.dumps("changed"))
    assert wait_for(lambda: live.get_many_and_count(["near:a"], {})[0] == {"near:a": "changed"})
    # An expiry is a change too (Redis deletes the key and says so).
    assert wait_for(lambda: live.get_many_and_count(["near:b"], {})[0] == {}, seconds=5)
    other.flushdb()
    assert wait_for(lambda: live.get_many_and_count(["near:a"], {})[0] == {})


def test_a_copy_read_while_a_change_arrived_is_not_kept(live, redis_trips):
    near = live.near()
    live.set("near:a", "old")
    found, missing, generation = near.lookup([live.make_key("near:a")])
    assert missing and generation is not None
    near.dropped([live.make_key("near:other")])  # a message arrives between read and store
    near.store({live.make_key("near:a"): b"stale"}, generation)
    assert len(near) == 0
    near.store({live.make_key("near:a"): b"fresh"}, near.generation)
    assert len(near) == 1


def test_no_copy_outlives_its_age_or_its_connection(live, redis_trips, redis_server, monkeypatch):
    now = [1000.0]
    near = live.near()
    monkeypatch.setattr(near, "clock", lambda: now[0])
    live.set("near:a", "v")
    live.get_many_and_count(["near:a"], {})
    live.get_many_and_count(["near:a"], {})
    assert len(redis_trips) == 1
    now[0] += 300  # CACHE_NEAR_SECONDS
    live.get_many_and_count(["near:a"], {})
    assert len(redis_trips) == 2
    # Redis goes away: every copy goes with the connection, nothing is kept meanwhile.
    redis_server.kill()
    assert live.get_many_and_count(["near:a"], {}) is None
    assert len(near) == 0 and near._sock is None
    redis_server.start()
    live._down_until = 0.0
    assert live.get_many_and_count(["near:a"], {}) == ({}, {})  # a new server, empty
    now[0] += near_cache.RETRY_SECONDS
    live.set("near:a", "back")
    live.get_many_and_count(["near:a"], {})
    live.get_many_and_count(["near:a"], {})
    assert near._sock is not None and len(near) == 1  # tracking again, copies again
    other_process(redis_server).set(live.make_key("near:a"), live._cache._serializer.dumps("x"))
    assert wait_for(lambda: live.get_many_and_count(["near:a"], {})[0] == {"near:a": "x"})


def test_this_processs_writes_drop_their_copies_at_once(live, redis_trips):
    for key in ("near:a", "near:b", "near:c"):
        live.set(key, 1)
    keys = ["near:a", "near:b", "near:c"]
    live.get_many_and_count(keys, {})
    live.incr("near:a")
    live.delete("near:b")
    live.set_many({"near:c": 5})
    assert live.get_many_and_count(keys, {}) == ({"near:a": 2, "near:c": 5}, {})
    live.clear()
    assert live.get_many_and_count(keys, {}) == ({}, {})


def test_off_with_zero_seconds_and_counters_always_round_trip(live, redis_trips, settings):
    live.set("near:a", 1)
    live.get_many_and_count(["near:a"], {})
    assert live.get_many_and_count(["near:a"], {"near:w": 60}) == ({"near:a": 1}, {"near:w": 1})
    assert redis_trips[-1] == ["SET", "INCRBY"]  # the count went; the key came from the copy
    settings.CACHE_NEAR_SECONDS = 0
    live.get_many_and_count(["near:a"], {})
    assert redis_trips[-1] == ["MGET"]


def test_a_module_that_registers_late_is_tracked_too(live, redis_server):
    live.set("late:a", 1)
    live.get_many_and_count(["late:a"], {})
    assert len(live.near()) == 0  # not kept
    near_cache.keep("late:")
    live.get_many_and_count(["late:a"], {})
    assert len(live.near()) == 1
    other_process(redis_server).set(live.make_key("late:a"), live._cache._serializer.dumps(2))
    assert wait_for(lambda: live.get_many_and_count(["late:a"], {})[0] == {"late:a": 2})


def test_overlapping_prefixes_are_tracked_once():
    assert near_cache._disjoint(["a:b:", "a:", "c", "a:bc"]) == ["a:", "c"]


def test_a_server_that_refuses_tracking_is_read_directly_and_not_asked_again(
    live, redis_trips, redis_server, monkeypatch, caplog
):
    # An ACL without CLIENT (as a managed Redis or a proxy may have): TRACKING is refused.
    other_process(redis_server).execute_command("ACL", "SETUSER", "default", "-client")
    now = [1000.0]
    live.set("near:a", "v")
    with caplog.at_level("WARNING", logger="streamsite.near_cache"):
        near = live.near()
        monkeypatch.setattr(near, "clock", lambda: now[0])
        for _ in range(3):
            assert live.get_many_and_count(["near:a"], {}) == ({"near:a": "v"}, {})
            now[0] += near_cache.RETRY_SECONDS * 10
    assert len(redis_trips) == 3 and len(near) == 0  # every read went to Redis
    refusals = [r for r in caplog.records if "refused client tracking" in r.getMessage()]
    assert len(refusals) == 1  # said once, not every RETRY_SECONDS
    assert "(NOPERM " in refusals[0].getMessage()  # the server's own refusal, named


def test_a_quiet_process_reads_its_messages_so_none_wait_in_redis(live, redis_server):
    live.set("near:a", "v")
    live.get_many_and_count(["near:a"], {})
    near = live.near()
    assert len(near) == 1
    other = other_process(redis_server)
    value = live._cache._serializer.dumps("changed")
    for i in range(2000):  # a job rewriting many kept keys while this process serves nothing
        other.set(live.make_key(f"near:job:{i}"), value)
    other.set(live.make_key("near:a"), value)
    # No request here: the copy goes all the same, and nothing waits for this process in
    # Redis's output buffer for its tracking connection.
    assert wait_for(lambda: len(near) == 0)

    def waiting_bytes():
        for client in other.client_list():
            if client["name"] == f"near-cache-{os.getpid()}":
                return int(client["omem"]) + int(client["qbuf"])
        raise AssertionError("no tracking connection")

    assert wait_for(lambda: waiting_bytes() == 0)
    assert live.get_many_and_count(["near:a"], {})[0] == {"near:a": "changed"}


def test_a_child_forked_while_the_reader_holds_the_lock_starts_over(live):
    live.set("near:a", "v")
    live.get_many_and_count(["near:a"], {})
    near = live.near()
    assert len(near) == 1
    with near._lock:  # as the idle reader holds it mid-read
        pid = os.fork()
        if pid == 0:  # the child: no thread of its own will ever release the parent's lock
            signal.alarm(5)
            try:
                ok = live.get_many_and_count(["near:a"], {}) == ({"near:a": "v"}, {})
                os._exit(0 if ok and near._sock is not None else 1)
            except BaseException:
                os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert len(near) == 1  # the parent's copies are its own


def test_a_handshake_cut_short_closes_its_socket_and_retries_later(monkeypatch, caplog):
    # A server that accepts and hangs up before answering HELLO (a restart mid-handshake).
    server = socket.create_server(("127.0.0.1", 0))
    made = []
    real = socket.create_connection

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(near_cache.socket, "create_connection", recording)
    near = near_cache.NearCache(server.getsockname(), ["near:"], max_age=300, clock=lambda: 1000.0)
    threading.Thread(target=lambda: server.accept()[0].close(), daemon=True).start()
    try:
        with caplog.at_level("WARNING", logger="streamsite.near_cache"):
            assert near.lookup(["near:a"]) == ({}, ["near:a"], None)
    finally:
        server.close()
    assert len(made) == 1 and made[0].fileno() == -1  # closed, not left to the collector
    assert near._sock is None and near._down_until == 1000.0 + near_cache.RETRY_SECONDS
    assert "cannot track keys for near copies" in caplog.text


def test_a_shared_prefix_hands_every_read_of_a_copy_one_decoded_value(
    live, redis_trips, redis_server, monkeypatch
):
    monkeypatch.setattr(near_cache, "_SHARED", ["near:shared:"])
    live.set("near:shared:a", {"rows": [1, 2]})
    live.set("near:a", {"rows": [1, 2]})
    keys = ["near:shared:a", "near:a"]
    first = live.get_many_and_count(keys, {})[0]
    again = live.get_many_and_count(keys, {})[0]
    assert len(redis_trips) == 1
    assert again == first == {"near:shared:a": {"rows": [1, 2]}, "near:a": {"rows": [1, 2]}}
    assert again["near:shared:a"] is first["near:shared:a"]  # decoded once, when it was read
    assert again["near:a"] is not first["near:a"]  # not shared: decoded for each read
    # Another process's write, and this process's own, each bring a value decoded anew.
    other_process(redis_server).set(
        live.make_key("near:shared:a"), live._cache._serializer.dumps({"rows": [3]})
    )
    assert wait_for(lambda: live.get_many_and_count(keys, {})[0]["near:shared:a"] == {"rows": [3]})
    changed = live.get_many_and_count(keys, {})[0]["near:shared:a"]
    assert live.get_many_and_count(keys, {})[0]["near:shared:a"] is changed
    live.set("near:shared:a", {"rows": [4]})
    assert live.get_many_and_count(keys, {})[0]["near:shared:a"] == {"rows": [4]}


def test_a_shared_copy_holds_its_value_not_its_bytes_once_read(live, monkeypatch):
    monkeypatch.setattr(near_cache, "_SHARED", ["near:"])
    live.set("near:a", {"v": 1})
    near, made = live.near(), live.make_key("near:a")
    dumps, loads = live._cache._serializer.dumps, live._cache._serializer.loads
    _, missing, generation = near.lookup([made])
    assert missing == [made]
    near.store({made: dumps({"v": 1})}, generation)
    held = near.lookup([made])[0][made]
    assert isinstance(held, bytes)  # not read yet
    value = near.decode(made, held, loads)
    now_held = near.lookup([made])[0][made]
    assert type(now_held) is near_cache.Decoded and now_held.value is value
    # A copy dropped between a lookup and its decode (a message about the key) stays gone.
    near.dropped([made])
    near.store({made: dumps({"v": 2})}, near.generation)
    held = near.lookup([made])[0][made]
    near.dropped([made])
    assert near.decode(made, held, loads) == {"v": 2}
    assert len(near) == 0


def test_a_prefix_shared_after_the_copies_began_is_shared_from_then_on(live, monkeypatch):
    monkeypatch.setattr(near_cache, "_SHARED", [])
    live.set("near:a", {"v": 1})
    one = live.get_many_and_count(["near:a"], {})[0]["near:a"]
    assert live.get_many_and_count(["near:a"], {})[0]["near:a"] is not one
    near_cache.keep("near:", shared=True)
    two = live.get_many_and_count(["near:a"], {})[0]["near:a"]
    assert live.get_many_and_count(["near:a"], {})[0]["near:a"] is two
