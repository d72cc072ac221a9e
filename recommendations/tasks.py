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


@shared_task(name="recommendations.tasks.fold_activity")
def fold_activity() -> int:
    """Beat entry (every minute): mark profiles with new activity, refold one bounded batch.

    Re-enqueues itself while a full batch was folded (a backlog drains without waiting a minute).
    """
    from recommendations import activity

    activity.activity_scan()
    folded = activity.fold_batch()
    if folded >= activity.FOLD_BATCH:
        fold_activity.delay()
    elif folded:
        # a backlog drained: retrain now if enough changed (debounced, one at a time)
        services.retrain_if_due()
    return folded


@shared_task(name="recommendations.tasks.precompute_rows")
def precompute_rows(after_id: int = 0) -> int | None:
    """Cache the home rows of one batch of profiles after `after_id`, then queue the next."""
    from recommendations import rows

    last = rows.rows_precompute(after_id=after_id)
    if last is not None:
        precompute_rows.delay(last)
    return last
