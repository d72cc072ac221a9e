"""Celery adapters for recommendations: training on demand and nightly."""

from __future__ import annotations

from celery import shared_task

from recommendations import services


@shared_task(name="recommendations.tasks.train_model")
def train_model(version_id: int) -> str | None:
    """Run a queued training; a redelivered or already-run message does nothing."""
    version = services.training_run(version_id=version_id)
    return None if version is None else version.status


@shared_task(name="recommendations.tasks.train_nightly")
def train_nightly() -> int:
    """Beat entry: queue one training of the configured algorithm."""
    return services.training_request().pk


@shared_task(name="recommendations.tasks.sweep_trainings")
def sweep_trainings() -> list[int]:
    """Beat entry: fail trainings whose worker died, re-enqueue lost queued ones."""
    failed, requeued = services.training_sweep()
    return [failed, requeued]
