"""Writes for recommendations, by topic: interaction upserts, training, promotion and rollback.
Callers use `from recommendations import services` and the names below."""

from __future__ import annotations

from recommendations.services.interactions import (
    InteractionRow,
    interactions_upsert,
    interactions_upsert_prepared,
)
from recommendations.services.promotion import promote, rollback
from recommendations.services.training import (
    QUEUED_GRACE,
    SWEEP_BATCH,
    TRAINING_STAGES,
    Progress,
    last_full_search,
    retrain_if_due,
    reusable_params,
    train,
    training_request,
    training_run,
    training_sweep,
)

__all__ = [
    "InteractionRow",
    "Progress",
    "QUEUED_GRACE",
    "SWEEP_BATCH",
    "TRAINING_STAGES",
    "interactions_upsert",
    "interactions_upsert_prepared",
    "last_full_search",
    "promote",
    "retrain_if_due",
    "reusable_params",
    "rollback",
    "train",
    "training_request",
    "training_run",
    "training_sweep",
]
