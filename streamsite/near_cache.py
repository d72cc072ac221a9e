"""Process-local copies of chosen Redis keys, kept true by Redis's own invalidation messages,
so a request that finds everything it reads here makes no round trip.

A cached request's one Redis round trip was most of its distance from a trivial view under
load (docs/benchmarks.md, the request path): the round trip is cheap in CPU, but the worker
blocks mid-request on a busy machine and loses its core. The keys nearly every request reads
change rarely (the shared counters: catalogue version, auth epoch, ready-asset version) or
are read again and again before they change (a profile's rows body and entry, the live model
version). Those keys are `keep()`-ed by their owners at import time; everything else goes to
Redis as before.

Redis's client-side-caching support keeps the copies true (server-assisted tracking, RESP3,
broadcast mode): each process holds one connection that asked Redis, with
`CLIENT TRACKING ON BCAST PREFIX ...`, to be told of every change to a key under a kept
prefix, whoever made it and however (a write, an expiry, an eviction, a flush). Before a copy
is used, the messages waiting on that socket are read (one non-blocking `recv`) and the
copies they name dropped. A flush, or losing the connection, drops every copy; while the
connection is away nothing is kept and every read goes to Redis.

How true: a write by this process drops its own copy at once (`dropped()`, called by the
cache backend's writes), so a process always reads its own writes. A write by another
process reaches this one when Redis sends the message, in the same pass of its event loop as
the writer's own reply: a request that this process starts after the writer saw its reply
finds the message waiting. No copy is used longer than `CACHE_NEAR_SECONDS` (a bound that
holds even for a message that never came); 0 turns the copies off.

A copy is stored only if no message arrived between the read that fetched it and the store
(a generation count), so a change that raced the read is never hidden. Copies are bytes as
Redis holds them (the caller decodes each use: nobody shares a mutable value), at most
MAX_COPIES of them (a full table is emptied, not scanned). Under a prefix kept `shared=True`,
whose owner's readers never change what they read, a copy is decoded by its first read and then
holds that value instead of its bytes, and every later read of it is handed the same object
(`decode`: a rows request unpickled two dicts otherwise). After a fork the child starts with
no copies, its own connection and its own lock. A daemon thread per process reads the messages
while the process serves nothing, so they never pile up in Redis for a quiet process."""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

hiredis: Any
try:
    import hiredis
except ImportError:  # pragma: no cover - requirements.txt pins it
    hiredis = None

MAX_COPIES = 50_000
RETRY_SECONDS = 5.0
IDLE_READ_SECONDS = 1.0  # the idle reader's longest wait before it looks at the socket again
_KEPT: list[str] = []  # unmade key prefixes, registered at import time
_SHARED: list[str] = []  # those of them whose decoded values every reader shares


class Decoded:
    """A copy under a shared prefix once a read decoded it: its value, in place of the bytes."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# Refusals that pass (the server is starting or busy): the connection is tried again later.
_PASSING_REFUSALS = ("LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN")


_INSTANCES: weakref.WeakSet[NearCache] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child starts each near cache over: no copies, none of the parent's socket,
    and a lock of its own (the parent's idle reader may have held it at the fork, and no
    thread of the child would ever release it)."""
    for near in list(_INSTANCES):
        near._start_over_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def keep(prefix: str, *, shared: bool = False) -> str:
    """Keep near copies of every key starting with `prefix` (before the cache's own prefix and
    version are added). Called at import time; answers `prefix`.

    `shared`: no reader of these keys changes the value it gets (nor anything inside it), so
    one decoded value per copy is handed to every read of it instead of a fresh one each."""
    if prefix not in _KEPT:
        _KEPT.append(prefix)
    if shared and prefix not in _SHARED:
        _SHARED.append(prefix)
    return prefix


def kept_prefixes() -> list[str]:
    return list(_KEPT)


def shared_prefixes() -> list[str]:
    return list(_SHARED)


def kept_count() -> int:
    """How many prefixes are registered, shared ones twice: asked on every request, so no
    copy is made."""
    return len(_KEPT) + len(_SHARED)


def _disjoint(prefixes: Iterable[str]) -> list[str]:
    """The prefixes none of the others starts (Redis refuses overlapping ones)."""
    out: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not out or not prefix.startswith(out[-1]):
            out.append(prefix)
    return out


class NearCache:
    """Copies of the keys under `prefixes` (made keys, as they are in Redis) of the Redis server
    at `address` ((host, port)), with credentials `username`/`password`; under the `shared`
    ones (made keys too) a copy keeps its decoded value for every reader (`decode`)."""

    def __init__(
        self,
        address: tuple[str, int],
        prefixes: list[str],
        *,
        max_age: float,
        shared: Iterable[str] = (),
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 2.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.address = address
        self.prefixes = _disjoint(prefixes)
        self._match = tuple(self.prefixes)
        self._shared = tuple(shared)
        self.max_age = max_age
        self.username = username
        self.password = password
        self.connect_timeout = connect_timeout
        self.clock = clock
        self._lock = threading.Lock()
        # key -> (raw value, None when absent, or Decoded under a shared prefix; when read)
        self._copies: dict[str, tuple[bytes | Decoded | None, float]] = {}
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._pid = 0
        self._idle_reader_pid = 0  # the process whose idle reader thread runs
        self._down_until = 0.0
        self.generation = 0  # moves with every message read and every loss
        self.kept_count = 0  # how many registered prefixes `prefixes` was made from
        _INSTANCES.add(self)

    def _start_over_in_child(self) -> None:
        self._lock = threading.Lock()
        self._sock = None  # the parent's: not closed here, the parent still reads it
        self._reader = None
        self._copies = {}
        self._pid = os.getpid()
        self.generation += 1

    # --- reading ------------------------------------------------------------------------

    def track(self, prefixes: list[str], shared: Iterable[str] = ()) -> None:
        """Track `prefixes` instead (a module registered one after the connection was made):
        the connection is made again with them, the copies start over."""
        with self._lock:
            self.prefixes = _disjoint(prefixes)
            self._match = tuple(self.prefixes)
            self._shared = tuple(shared)
            self._down_until = 0.0
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            self._copies.clear()
            self.generation += 1

    def close(self) -> None:
        """Stop tracking: the idle reader ends within IDLE_READ_SECONDS, the copies go."""
        with self._lock:
            self._idle_reader_pid = -1
            self._down_until = float("inf")
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            self._copies.clear()
            self.generation += 1

    def kept(self, key: str) -> bool:
        return key.startswith(self._match)

    def lookup(
        self, keys: list[str]
    ) -> tuple[dict[str, bytes | Decoded | None], list[str], int | None]:
        """The copies held for `keys` (raw values for `decode`; None: the key is known to be
        absent), the keys to read from Redis, and the generation to store their values with
        (None: nothing may be stored, the tracking connection is away)."""
        with self._lock:
            if not self._live():
                return {}, keys, None
            now = self.clock()
            found: dict[str, bytes | Decoded | None] = {}
            missing = []
            for key in keys:
                copy = self._copies.get(key)
                if copy is not None and now - copy[1] < self.max_age:
                    found[key] = copy[0]
                else:
                    missing.append(key)
            return found, missing, self.generation

    def store(self, values: dict[str, bytes | None], generation: int | None) -> None:
        """Keep the kept keys among `values` (read from Redis after `lookup` answered
        `generation`), unless a message arrived since."""
        if generation is None:
            return
        with self._lock:
            self._drain()
            if generation != self.generation:
                return
            if len(self._copies) + len(values) > MAX_COPIES:
                self._copies.clear()
            now = self.clock()
            for key, raw in values.items():
                if self.kept(key):
                    self._copies[key] = (raw, now)

    def decode(self, key: str, raw: bytes | Decoded, loads: Callable[[bytes], Any]) -> Any:
        """The value of what `lookup` (or a read from Redis) answered for `key`: `loads(raw)`,
        or a shared copy's decoded value. Under a shared prefix, the first read of a copy
        decodes it and the copy keeps that value instead of its bytes: every later read of it
        gets the same object, until the copy goes."""
        if type(raw) is Decoded:  # what the copy held when `lookup` read it
            return raw.value
        assert isinstance(raw, bytes)
        value = loads(raw)
        if key.startswith(self._shared):  # startswith(()) is False: nothing shared
            with self._lock:  # only while it is still the copy (a message may have dropped it)
                copy = self._copies.get(key)
                if copy is not None and copy[0] is raw:
                    self._copies[key] = (Decoded(value), copy[1])
        return value

    def dropped(self, keys: Iterable[str] | None = None) -> None:
        """This process changed `keys` (None: every key): drop their copies now."""
        with self._lock:
            self.generation += 1
            if keys is None:
                self._copies.clear()
            else:
                for key in keys:
                    self._copies.pop(key, None)

    def __len__(self) -> int:
        return len(self._copies)

    # --- the tracking connection -------------------------------------------------------

    def _live(self) -> bool:
        """Connected (connecting when due) with every waiting message read."""
        if self._pid != os.getpid():  # a child forked where register_at_fork is missing
            self._sock = None
            self._copies.clear()
            self._pid = os.getpid()
        if self._sock is None and (self.clock() < self._down_until or not self._connect()):
            return False
        return self._drain()

    def _connect(self) -> bool:
        if hiredis is None or not self.prefixes:
            self._down_until = float("inf")
            return False
        try:
            sock = socket.create_connection(self.address, timeout=self.connect_timeout)
        except OSError as exc:
            self._lost(f"cannot track keys for near copies: {exc}")
            return False
        try:
            reader, refused = self._handshake(sock)
        except (OSError, hiredis.HiredisError) as exc:
            sock.close()  # half-made: never ours to keep
            self._lost(f"cannot track keys for near copies: {exc}")
            return False
        if refused is not None:
            sock.close()
            if refused.startswith(_PASSING_REFUSALS):
                self._lost(f"cannot track keys for near copies: {refused}")
            else:
                self._refused(refused)
            return False
        self._sock, self._reader = sock, reader
        self._copies.clear()
        self.generation += 1
        if self._idle_reader_pid != os.getpid():
            self._idle_reader_pid = os.getpid()
            threading.Thread(
                target=self._read_while_idle, name="near-cache-reader", daemon=True
            ).start()
        return True

    def _handshake(self, sock: socket.socket) -> tuple[Any, str | None]:
        """Ask for RESP3 and broadcast tracking of the kept prefixes on `sock`: its reader and
        the server's refusal, if it refused either (None: tracking, `sock` non-blocking)."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = hiredis.Reader()
        hello: list[Any] = ["HELLO", "3"]
        if self.password is not None:
            hello += ["AUTH", self.username or "default", self.password]
        hello += ["SETNAME", f"near-cache-{os.getpid()}"]
        tracking: list[Any] = ["CLIENT", "TRACKING", "ON", "BCAST"]
        for prefix in self.prefixes:
            tracking += ["PREFIX", prefix]
        sock.sendall(hiredis.pack_command(tuple(hello)) + hiredis.pack_command(tuple(tracking)))
        refused = None
        for _ in range(2):
            reply = self._read_reply(sock, reader)
            if isinstance(reply, hiredis.ReplyError) and refused is None:
                refused = str(reply)
        if refused is None:
            sock.setblocking(False)
        return reader, refused

    def _read_while_idle(self) -> None:
        """Read the messages as they come, between requests too: a process that serves
        nothing for a while (a quiet worker, a beat) would otherwise leave every message about
        the kept keys queued in Redis's output buffer for its connection, which Redis does
        not bound for normal clients by default. Requests still read what is waiting before
        each use (`_live`), so a copy never depends on this thread having run."""
        pid = os.getpid()
        while self._idle_reader_pid == pid:
            sock = self._sock
            if sock is None:
                time.sleep(IDLE_READ_SECONDS)
                continue
            try:
                ready, _, _ = select.select([sock], [], [], IDLE_READ_SECONDS)
            except (OSError, ValueError):  # closed meanwhile (lost, or tracking anew)
                continue
            if ready:
                with self._lock:
                    if self._sock is sock:
                        self._drain()

    @staticmethod
    def _read_reply(sock: socket.socket, reader: Any) -> Any:
        while True:
            reply = reader.gets()
            if reply is not False:
                return reply
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the server")
            reader.feed(data)

    def _drain(self) -> bool:
        """Read every message waiting on the tracking socket and drop what they name."""
        sock = self._sock
        if sock is None:
            return False
        try:
            while True:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                if not data:
                    raise ConnectionError("closed by the server")
                self._reader.feed(data)
                if len(data) < 65536:
                    break
            while (message := self._reader.gets()) is not False:
                self._apply(message)
        except (OSError, hiredis.HiredisError) as exc:
            self._lost(f"lost the near copies' tracking connection: {exc}")
            return False
        return True

    def _apply(self, message: Any) -> None:
        if not (isinstance(message, list) and message and message[0] == b"invalidate"):
            return  # a reply to nothing we sent, or another push: not about copies
        self.generation += 1
        keys = message[1]
        if keys is None:  # FLUSHDB, FLUSHALL, or the server's tracking table was reset
            self._copies.clear()
            return
        for key in keys:
            self._copies.pop(key.decode() if isinstance(key, bytes) else key, None)

    def _refused(self, why: str) -> None:
        """The server refused RESP3 or tracking (a Redis before 6, a proxy, an ACL without
        CLIENT): asking again would be refused again, so this process keeps no copies."""
        logger.warning(
            "Redis at %s:%s refused client tracking (%s): no near copies in this process; "
            "every read goes to Redis (set CACHE_NEAR_SECONDS=0 to silence this)",
            *self.address,
            why,
        )
        self._copies.clear()
        self.generation += 1
        self._down_until = float("inf")

    def _lost(self, why: str) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:  # pragma: no cover - closing a dead socket
                pass
        logger.warning("%s; reading from Redis until it is back", why)
        self._sock = None
        self._reader = None
        self._copies.clear()
        self.generation += 1
        self._down_until = self.clock() + RETRY_SECONDS
