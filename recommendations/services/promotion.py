"""The live model: the promotion gate, promotion and rollback (each recomputes the cached rows)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import record
from recommendations.models import ModelVersion
from streamsite.errors import Conflict, NotFound


def gate(version: ModelVersion) -> ModelVersion:
    """Promote only a clear improvement: NDCG@10 above the reference by the margin (relative)."""
    margin = float(settings.RECS_PROMOTION_MARGIN)
    metrics = version.metrics
    ndcg = float(metrics["test"]["ndcg@10"])
    live = metrics.get("live")
    if live is not None:
        reference, against = float(live["ndcg@10"]), f"live version #{live['version']}"
    elif version.algorithm != "popularity":
        reference, against = float(metrics["popularity"]["ndcg@10"]), "the popularity baseline"
    else:
        reference, against = 0.0, "nothing (first model)"
    stage = metrics.get("stage")
    if stage is not None:
        # the two-stage model against its own EASE stage, by the same margin
        beats = ndcg > float(stage["ndcg@10"]) * (1 + margin)
        ModelVersion.objects.filter(pk=version.pk).update(
            metrics={**metrics, "stage": {**stage, "beats_stage": beats}}
        )
        version.refresh_from_db()
        metrics = version.metrics
        if not beats:
            needed = float(stage["ndcg@10"]) * (1 + margin)
            decision = (
                f"Kept as candidate: NDCG@10 {ndcg:.4f} does not beat its own {stage['algorithm']}"
                f" stage ({float(stage['ndcg@10']):.4f}) by {margin:.1%} (needs more than "
                f"{needed:.4f}); the stage goes through the gate on its own."
            )
            ModelVersion.objects.filter(pk=version.pk).update(decision=decision)
            version.refresh_from_db()
            return version
    if live is not None and live.get("same_recipe"):
        return _gate_refresh(version, live_pk=int(live["version"]))
    needed = reference * (1 + margin)
    if ndcg > needed or (live is None and version.algorithm == "popularity"):
        decision = (
            f"Promoted: NDCG@10 {ndcg:.4f} beats {against} ({reference:.4f}) "
            f"by more than {margin:.1%}."
        )
        ModelVersion.objects.filter(pk=version.pk).update(decision=decision)
        return promote(version=version)
    decision = (
        f"Kept as candidate: NDCG@10 {ndcg:.4f} does not beat {against} ({reference:.4f}) "
        f"by {margin:.1%} (needs more than {needed:.4f})."
    )
    ModelVersion.objects.filter(pk=version.pk).update(decision=decision)
    version.refresh_from_db()
    return version


def _gate_refresh(version: ModelVersion, *, live_pk: int) -> ModelVersion:
    """The live recipe (same algorithm, same parameters) fitted again: on this split it scores
    exactly what the live one does, so no margin can be cleared; what it brings is newer data.
    Promoted when its interactions reach later than the live version's and it still beats the
    popularity baseline; kept otherwise. Without this, a nightly retrain that reuses the live
    parameters (RECS_FULL_SEARCH_DAYS) would never put fresh viewing into the live model."""
    metrics = version.metrics
    ndcg = float(metrics["test"]["ndcg@10"])
    popularity = float(metrics["popularity"]["ndcg@10"])
    current = ModelVersion.objects.filter(pk=live_pk).first()
    newer = version.data_to is not None and (
        current is None or current.data_to is None or version.data_to > current.data_to
    )
    if newer and (ndcg > popularity or version.algorithm == "popularity"):
        decision = (
            f"Promoted: live version #{live_pk}'s recipe refitted on newer data (up to "
            f"{version.data_to:%Y-%m-%d %H:%M} UTC); NDCG@10 {ndcg:.4f}, popularity "
            f"{popularity:.4f}."
        )
        ModelVersion.objects.filter(pk=version.pk).update(decision=decision)
        return promote(version=version)
    why = (
        "no newer data than it"
        if not newer
        else f"NDCG@10 {ndcg:.4f} does not beat the popularity baseline ({popularity:.4f})"
    )
    decision = f"Kept as candidate: live version #{live_pk}'s own recipe, with {why}."
    ModelVersion.objects.filter(pk=version.pk).update(decision=decision)
    version.refresh_from_db()
    return version


@transaction.atomic
def promote(*, version: ModelVersion) -> ModelVersion:
    """Make this version live; the previous live one is retired."""
    locked = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
    if locked is None:
        raise NotFound(gettext("No such model version."))
    if locked.status == ModelVersion.Status.LIVE:
        return locked
    if locked.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
        raise Conflict(f"A {locked.get_status_display().lower()} model cannot be promoted.")
    if not locked.artifact_key:
        raise Conflict(gettext("This version has no stored artifact."))
    now, was = timezone.now(), locked.status
    list(ModelVersion.objects.select_for_update().live().order_by("pk"))
    ModelVersion.objects.live().update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=locked.pk).update(
        status=ModelVersion.Status.LIVE, promoted_at=now, rolled_back_at=None
    )
    locked.refresh_from_db()
    record(
        action="recs.model_promote",
        obj=locked,
        before={"status": was},
        after={"status": locked.status},
    )
    _precompute_rows_on_commit()
    return locked


def _precompute_rows_on_commit() -> None:
    """A new live model: recompute every profile's cached home rows in batches, after commit."""
    from recommendations import rows_cache, tasks  # tasks import this module

    rows_cache.live_model_changed()
    tasks.precompute_rows.delay_on_commit(0)  # type: ignore[attr-defined]


@transaction.atomic
def rollback() -> ModelVersion:
    """Retire the live version and bring back the one that was live before it."""
    live = ModelVersion.objects.select_for_update().live().first()
    if live is None:
        raise Conflict(gettext("No live model to roll back."))
    previous = (
        ModelVersion.objects.select_for_update()
        .filter(
            status=ModelVersion.Status.RETIRED,
            promoted_at__isnull=False,
            rolled_back_at__isnull=True,
            promoted_at__lt=live.promoted_at,
        )
        .exclude(artifact_key="")
        .order_by("-promoted_at", "-id")
        .first()
    )
    if previous is None:
        raise Conflict(gettext("No earlier live model to roll back to."))
    now = timezone.now()
    ModelVersion.objects.filter(pk=live.pk).update(
        status=ModelVersion.Status.RETIRED, rolled_back_at=now
    )
    ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.LIVE)
    previous.refresh_from_db()
    record(action="recs.model_rollback", obj=previous, after={"retired": live.pk})
    _precompute_rows_on_commit()
    return previous
