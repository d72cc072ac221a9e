"""Which queue a task runs on, and the soft/hard time limits that queue gives it."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings


def queue_for(task_name: str) -> str:
    """The queue CELERY_TASK_ROUTES sends `task_name` to (exact names win over patterns)."""
    routes: dict[str, dict[str, str]] = settings.CELERY_TASK_ROUTES
    if task_name in routes:
        return routes[task_name]["queue"]
    for pattern, route in routes.items():
        if fnmatchcase(task_name, pattern):
            return route["queue"]
    return str(settings.CELERY_TASK_DEFAULT_QUEUE)


def time_limits_for(task_name: str) -> tuple[int, int]:
    """(soft, hard) seconds for a task: its queue's limits, else the global ones."""
    limits: dict[str, tuple[int, int]] = settings.CELERY_QUEUE_TIME_LIMITS
    return limits.get(
        queue_for(task_name),
        (int(settings.CELERY_TASK_SOFT_TIME_LIMIT), int(settings.CELERY_TASK_TIME_LIMIT)),
    )


class QueueTimeLimits:
    """A Celery task annotation (CELERY_TASK_ANNOTATIONS): limits sized to the task's queue.

    Celery has already copied the global limits onto every task that declared none; a task
    whose limit differs from the global one declared its own, and keeps it.
    """

    def annotate(self, task: Any) -> dict[str, int] | None:
        soft, hard = time_limits_for(task.name)
        out = {}
        if getattr(task, "soft_time_limit", None) in (None, settings.CELERY_TASK_SOFT_TIME_LIMIT):
            out["soft_time_limit"] = soft
        if getattr(task, "time_limit", None) in (None, settings.CELERY_TASK_TIME_LIMIT):
            out["time_limit"] = hard
        return out or None
