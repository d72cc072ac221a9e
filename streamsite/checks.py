"""System checks for the Celery settings that only make sense together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register("celery")
def queue_time_limits(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every routed queue has limits, each soft limit comes before its hard one (so a task can
    clean up), and the broker waits for the longest hard limit before redelivering (else a
    running task would be handed to a second worker)."""
    limits: dict[str, tuple[int, int]] = settings.CELERY_QUEUE_TIME_LIMITS
    errors = []
    queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    for queue in sorted(queues | {settings.CELERY_TASK_DEFAULT_QUEUE}):
        if queue not in limits:
            errors.append(
                Error(
                    f"Queue {queue!r} has no entry in CELERY_QUEUE_TIME_LIMITS.", id="celery.E001"
                )
            )
    for queue, (soft, hard) in sorted(limits.items()):
        if soft >= hard:
            errors.append(
                Error(
                    f"Queue {queue!r}: the soft time limit ({soft} s) must be below the hard "
                    f"one ({hard} s).",
                    id="celery.E002",
                )
            )
    longest = max((hard for _soft, hard in limits.values()), default=0)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is not None and visibility <= longest:
        errors.append(
            Error(
                f"The broker's visibility timeout ({visibility} s) must outlast the longest hard "
                f"time limit ({longest} s).",
                id="celery.E003",
            )
        )
    return errors
