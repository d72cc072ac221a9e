"""Prometheus counters for requests, tasks and playback, served on a separate metrics port.

Why a separate port and not a `/metrics` view: Prometheus scrapes pods by IP, and a Django view
would meet `ALLOWED_HOSTS`, the HTTPS redirect and the public ingress. The metrics port
(`METRICS_PORT`) is opened by the gunicorn master and the Celery worker's main process, is in
no Service, Ingress or nginx route, and a NetworkPolicy admits only the monitoring namespace.

gunicorn and Celery fork children, so counters use prometheus-client's multiprocess mode: each
process writes its own file under `PROMETHEUS_MULTIPROC_DIR` (the image's entrypoint sets it and
empties it at start) and the metrics server sums them at scrape time. Without that variable
(tests, `make demo`) the counters live in the process's default registry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "streamsite_http_requests_total",
    "HTTP requests answered, by route name, method and status code.",
    ["view", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "streamsite_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TASKS = Counter(
    "streamsite_celery_tasks_total",
    "Celery tasks finished in this worker, by task name and final state.",
    ["task", "state"],
)
PLAYBACK_SESSIONS = Counter(
    "streamsite_playback_sessions_started_total",
    "Playback sessions (stream leases) opened.",
)
API_TOKEN_LOOKUPS = Counter(
    "streamsite_api_token_lookups_total",
    "API tokens verified, by where the token was found: `memory` (this process remembered it) "
    "or `database` (a token's first request in the process, its memory lapsed, the auth epoch "
    "moved, or the shared cache was away).",
    ["source"],
)
# Bound once: every API request counts one.
TOKEN_FROM_MEMORY = API_TOKEN_LOOKUPS.labels(source="memory")
TOKEN_FROM_DATABASE = API_TOKEN_LOOKUPS.labels(source="database")


def _view_label(request: HttpRequest) -> str:
    # Route names, never raw paths: a path label would grow without bound (ids, tokens).
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or "<unnamed>"


class MetricsMiddleware:
    """Outermost middleware: counts every answered request, including refusals and errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view_label = _view_label(request)
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(view=view_label, method=method, status=str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view=view_label).observe(elapsed)
        return response


def count_task(sender: Any = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    """celery `task_postrun`: one count per finished run (SUCCESS, FAILURE, RETRY, ...)."""
    name = getattr(task, "name", None) or getattr(sender, "name", None) or "<unknown>"
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()


def count_playback_session(sender: Any, created: bool = False, **_: Any) -> None:
    """post_save of the playback session model: a new row is a new stream lease."""
    if created:
        PLAYBACK_SESSIONS.inc()


def registry() -> CollectorRegistry:
    """What a scrape reads: the sum of every process's files in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    return REGISTRY


def exposition() -> bytes:
    return generate_latest(registry())


def metrics_port() -> int | None:
    """`METRICS_PORT`, read by the process that opens it (gunicorn's master, Celery's main
    process) before Django settings exist; unset means no metrics server."""
    from streamsite.env import Env

    port: int | None = Env().int("METRICS_PORT", None, min=1, max=65535)
    return port


def serve(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped by pod IP
    start_http_server(port, addr=addr, registry=registry())


def process_dead(pid: int) -> None:
    """A forked child exited: drop its live-gauge files (counters keep their totals)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
