"""gunicorn hooks for the image's web role: the metrics port in the master process, and
cleanup of a dead worker's metric files (prometheus-client multiprocess mode)."""

from __future__ import annotations

from typing import Any


def when_ready(server: Any) -> None:
    from streamsite import metrics

    port = metrics.metrics_port()
    if port is not None:
        metrics.serve(port)
        server.log.info("metrics on port %s", port)


def child_exit(server: Any, worker: Any) -> None:
    from streamsite import metrics

    metrics.process_dead(worker.pid)
