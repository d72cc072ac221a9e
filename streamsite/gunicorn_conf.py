"""gunicorn settings and hooks shared by every way the web role starts (the `Procfile`, the
image's entrypoint, the HTTP bench): one listening socket per worker, the metrics port in the
master process, cleanup of a dead worker's metric files (prometheus-client multiprocess
mode), and a worker's loaded code kept out of the garbage collector's full passes."""

from __future__ import annotations

import errno
import gc
import socket
from typing import Any

# Each worker opens its own listening socket with SO_REUSEPORT, and the kernel spreads new
# connections over them. With the one shared socket, the worker that wakes first accepts every
# waiting connection, so a client that opens its keep-alive connections at once (a proxy's
# upstream pool, a load generator) could leave one worker serving all of them on one core
# while the other idled (docs/benchmarks.md, "Seventh pass").
reuse_port = True


def on_starting(server: Any) -> None:
    """Refuse to start where something already listens. SO_REUSEPORT would otherwise let a
    second server (a stale `make up`, another checkout) share the port silently."""
    for address in server.cfg.address:
        occupied = address_in_use(address)
        if occupied:
            raise RuntimeError(f"{occupied}: is another server still running?")


def address_in_use(address: Any) -> str:
    """Why `address` (gunicorn's (host, port) or a Unix path) cannot be bound, or "".

    Binds a probe without SO_REUSEPORT: Linux refuses it (EADDRINUSE) while any socket listens
    on that address, with or without SO_REUSEPORT, but SO_REUSEADDR lets it through a port
    whose old connections linger in TIME_WAIT after a restart. Any other refusal is left to
    gunicorn's own bind, which names it."""
    if not isinstance(address, tuple):
        return ""  # a Unix socket path: gunicorn itself refuses one that exists
    host, port = address[0], address[1]
    if not port:
        return ""  # an ephemeral port is never taken
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"{host}:{port} is already in use"
        return ""  # an address not on this host, a privileged port: gunicorn says so
    finally:
        probe.close()
    return ""


def when_ready(server: Any) -> None:
    from streamsite import metrics

    if server.cfg.reuse_port:  # gunicorn's own line names no address: the workers hold them
        bound = ",".join(_url(address) for address in server.cfg.address)
        server.log.info("Listening at: %s (%s), one socket per worker", bound, server.pid)

    port = metrics.metrics_port()
    if port is not None:
        metrics.serve(port)
        server.log.info("metrics on port %s", port)


def _url(address: Any) -> str:
    if isinstance(address, tuple):
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        return f"http://{host}:{address[1]}"
    return f"unix:{address}"


def post_worker_init(worker: Any) -> None:
    """Load every view module now, then freeze what the worker holds before its first request.

    A loaded worker tracks about 155,000 objects (modules, classes, functions, the URLconf),
    none of them garbage and none ever freed. The cyclic collector's full pass walks all of
    them: about 80 ms on this project's 2-core machine, with the GIL held, so each of the
    worker's threads stalls that long, which is what a request's p99 was made of
    (docs/benchmarks.md, "Fifteenth pass"). `gc.freeze()` moves them to the permanent
    generation, which no pass walks; what requests allocate later is collected as before.
    Collected first, so the start-up's own garbage is freed rather than frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view module)
    gc.collect()
    gc.freeze()
    worker.log.info("froze %s objects loaded before the first request", gc.get_freeze_count())


def child_exit(server: Any, worker: Any) -> None:
    from streamsite import metrics

    metrics.process_dead(worker.pid)
