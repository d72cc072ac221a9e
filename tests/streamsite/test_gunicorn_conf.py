"""The web role's gunicorn settings (streamsite/gunicorn_conf.py): one listening socket per
worker, so connections opened at once are spread over the workers, a refusal to start
where something already listens (SO_REUSEPORT would let a second server share the port),
and each worker's loaded code frozen out of the garbage collector's passes."""

import gc
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bench.chaos.infra import free_port, wait_until
from streamsite.gunicorn_conf import address_in_use, post_worker_init
from tests.streamsite.gunicorn_process import start_gunicorn


def _local_states(port: int) -> list[str]:
    """TCP states of the sockets bound to `port` on 127.0.0.1 (/proc/net/tcp; 0A is LISTEN,
    06 TIME_WAIT)."""
    states = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}":
            states.append(fields[3])
    return states


def test_a_port_with_a_reuseport_listener_is_in_use_and_a_free_one_is_not():
    port = free_port()
    assert address_in_use(("127.0.0.1", port)) == ""

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert address_in_use(("127.0.0.1", port)) == f"127.0.0.1:{port} is already in use"

    assert address_in_use(("127.0.0.1", port)) == ""


def test_a_port_whose_old_connections_linger_in_time_wait_is_free():
    """As after a restart: the server closed its side first, so the port has TIME_WAIT."""
    port = free_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server's side closes first and goes to TIME_WAIT
        assert client.recv(1) == b""
        client.close()
    assert _local_states(port) == ["06"]  # TIME_WAIT only

    assert address_in_use(("127.0.0.1", port)) == ""


def test_unix_sockets_ephemeral_ports_and_other_refusals_are_left_to_gunicorn():
    assert address_in_use("/tmp/streamsite-web.sock") == ""
    assert address_in_use(("127.0.0.1", 0)) == ""
    # an address this host does not have (TEST-NET-1): EADDRNOTAVAIL, which gunicorn reports
    assert address_in_use(("192.0.2.1", free_port())) == ""


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)


def test_a_worker_freezes_what_it_loaded_so_a_full_collection_does_not_walk_it():
    gc.unfreeze()
    loaded = len(gc.get_objects())
    worker = type("Worker", (), {"log": _Log()})()
    try:
        post_worker_init(worker)
        frozen = gc.get_freeze_count()
        # everything the process held is frozen; a full pass now walks only what came after
        assert frozen > loaded / 2
        assert len(gc.get_objects(generation=2)) < frozen / 100
        # the logged count is the one just after freezing: a frozen object can still be freed
        # (its last reference dropped, in this thread or another), never added, so it is at
        # least today's count and within a handful of it
        [line] = worker.log.lines
        logged = re.fullmatch(r"froze (\d+) objects loaded before the first request", line)
        assert logged, line
        assert frozen <= int(logged[1]) <= frozen + 100
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def _gunicorn(port: int, tmp_path: Path, name: str) -> subprocess.Popen:
    return start_gunicorn(
        port,
        tmp_path,
        "--worker-class", "gthread", "--threads", "4", "--no-control-socket",
        # the serving worker's pid, one line per request
        "--access-logfile", str(tmp_path / f"{name}.access"), "--access-logformat", "%(p)s",
        output=open(tmp_path / f"{name}.log", "wb"),  # noqa: SIM115 - closed with the process
    )  # fmt: skip


def _keep_alive_get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    return reply


@pytest.mark.slow
def test_connections_opened_at_once_are_spread_over_the_workers_and_a_second_server_is_refused(
    tmp_path,
):
    port = free_port()
    proc = _gunicorn(port, tmp_path, "first")
    try:
        # both workers booted: each holds its own listening socket
        booted = wait_until(
            lambda: proc.poll() is not None or _local_states(port) == ["0A", "0A"], timeout=60
        )
        assert booted and proc.poll() is None, (tmp_path / "first.log").read_text()

        # each worker froze its loaded code (the views imported first) before serving
        def frozen() -> list[str]:
            log = (tmp_path / "first.log").read_text()
            return re.findall(r"froze (\d+) objects loaded before", log)

        assert wait_until(lambda: len(frozen()) == 2, timeout=30), frozen()
        assert all(int(n) > 50_000 for n in frozen()), frozen()

        # Sixteen keep-alive connections at once, as a proxy's pool or wrk opens them; with
        # one shared socket a single worker could accept them all. Then a request on each.
        conns = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(16)]
        try:
            for conn in conns:
                assert b" 200 " in _keep_alive_get(conn).split(b"\r\n", 1)[0] + b" "
        finally:
            for conn in conns:
                conn.close()
        time.sleep(0.5)  # the access log is written after each response
        served_by = (tmp_path / "first.access").read_text().split()
        assert len(served_by) == 16
        assert len(set(served_by)) == 2, served_by  # all on one: odds 2 in 65,536

        second = _gunicorn(port, tmp_path, "second")
        assert second.wait(timeout=60) == 1
        output = (tmp_path / "second.log").read_text()
        assert f"127.0.0.1:{port} is already in use: is another server still running?" in output
        # the first server still serves
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            assert b"200 OK" in _keep_alive_get(conn)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
