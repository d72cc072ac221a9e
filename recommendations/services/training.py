"""Training runs: requested, run (fold, load, split, search, evaluate, fit, store), swept;
each ends at the promotion gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from threadpoolctl import threadpool_limits

from audit.services import record
from recommendations import algorithms, evaluation, selectors
from recommendations.models import Interaction, ModelVersion
from recommendations.services.promotion import gate
from streamsite.errors import ValidationFailed

Progress = Callable[[str], None]

QUEUED_GRACE = timedelta(hours=1)
SWEEP_BATCH = 20

#: the named stages of a training run, in order (the command's progress bar counts them)
TRAINING_STAGES = (
    "fold pending activity",
    "load interactions",
    "split",
    "choose hyper-parameters",
    "evaluate candidate",
    "evaluate baselines",
    "fit on all data",
    "store artifact",
    "promotion gate",
)


def _check_algorithm(algorithm: str, params: dict[str, Any] | None) -> None:
    if algorithm not in algorithms.ALGORITHMS:
        raise ValidationFailed(
            f"Unknown algorithm {algorithm!r}; choose one of "
            f"{', '.join(sorted(algorithms.ALGORITHMS))}.",
            extra={"fields": {"algorithm": [gettext("Unknown.")]}},
        )
    if params is not None:
        try:
            algorithms.build(algorithm, params)
        except TypeError as exc:
            raise ValidationFailed(
                f"Bad parameters for {algorithm}: {exc}",
                extra={"fields": {"params": [str(exc)]}},
            ) from exc


def training_request(
    *, algorithm: str | None = None, params: dict[str, Any] | None = None
) -> ModelVersion:
    """Queue a training run in the background (Celery); returns the queued version."""
    from recommendations.tasks import train_model

    algorithm = algorithm or settings.RECS_ALGORITHM
    _check_algorithm(algorithm, params)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            algorithm=algorithm, params=params or {}, status=ModelVersion.Status.QUEUED
        )
        record(action="recs.model_train", obj=version, after={"algorithm": algorithm})
        train_model.delay_on_commit(version.pk)  # type: ignore[attr-defined]
    return version


def train(
    *,
    algorithm: str | None = None,
    params: dict[str, Any] | None = None,
    holdout: int | None = None,
    progress: Progress | None = None,
) -> ModelVersion:
    """Train in the foreground: fit, evaluate, store the artifact, apply the promotion gate.

    `params` None chooses hyper-parameters on a validation split of the training part.
    """
    algorithm = algorithm or settings.RECS_ALGORITHM
    _check_algorithm(algorithm, params)
    version = ModelVersion.objects.create(
        algorithm=algorithm,
        params=params or {},
        status=ModelVersion.Status.TRAINING,
        metrics={"requested_params": params},
        started_at=timezone.now(),
    )
    return _run(version, search_params=params is None, holdout=holdout, progress=progress)


def training_run(*, version_id: int, progress: Progress | None = None) -> ModelVersion | None:
    """Run a queued version once: claimed by a conditional update, so a redelivery is a no-op."""
    claimed = ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.QUEUED).update(
        status=ModelVersion.Status.TRAINING
    )
    if claimed != 1:
        return None
    version = ModelVersion.objects.get(pk=version_id)
    return _run(version, search_params=not version.params, holdout=None, progress=progress)


def retrain_if_due(*, now: datetime | None = None) -> ModelVersion | None:
    """Queue a training when enough activity changed since the last one (between nightlies).

    Due when `RECS_RETRAIN_AFTER` interactions or more were folded with activity newer than the
    last training's creation; debounced: never within `RECS_RETRAIN_MIN_MINUTES` of the last
    training, and never while one is queued or training (one at a time). The check and the
    queueing hold a row lock on the newest version so two folds cannot both queue.
    """
    threshold = int(settings.RECS_RETRAIN_AFTER)
    if threshold <= 0:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        last = ModelVersion.objects.select_for_update().order_by("-created_at", "-id").first()
        if last is not None:
            if last.status in (ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING):
                return None
            if last.created_at > now - timedelta(minutes=int(settings.RECS_RETRAIN_MIN_MINUTES)):
                return None
            changed = Interaction.objects.filter(last_at__gt=last.created_at).count()
        else:
            changed = Interaction.objects.count()
        if changed < threshold:
            return None
        return training_request()


def training_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Fail trainings whose worker died; re-enqueue queued ones whose message was lost.

    A training still running after the task's hard time limit was killed with its worker.
    A version queued for over an hour never reached a worker; enqueueing it again is safe
    because the task claims it with a conditional update. Returns (failed, re-enqueued).
    """
    from recommendations.tasks import train_model

    now = now or timezone.now()
    limit = timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT) + 60)
    failed = ModelVersion.objects.filter(
        status=ModelVersion.Status.TRAINING, started_at__lt=now - limit
    ).update(
        status=ModelVersion.Status.FAILED,
        error="The training stopped without finishing (worker lost); swept.",
        finished_at=now,
    )
    stale = list(
        ModelVersion.objects.filter(
            status=ModelVersion.Status.QUEUED, created_at__lt=now - QUEUED_GRACE
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in stale:
        train_model.delay_on_commit(pk)  # type: ignore[attr-defined]
    return failed, len(stale)


def _run(
    version: ModelVersion,
    *,
    search_params: bool,
    holdout: int | None,
    progress: Progress | None,
) -> ModelVersion:
    def stage(name: str) -> None:
        if progress:
            progress(name)

    try:
        # one thread for every BLAS and OpenMP pool: training is a series of small products
        # whose second thread mostly spin-waits (0.7 s of CPU more than the wall time of a
        # MovieLens-100K retrain on an idle 2-core machine); the threaded steps pin their own
        with threadpool_limits(limits=1):
            inner = _fit_evaluate_store(
                version, search_params, holdout or settings.RECS_HOLDOUT, stage
            )
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the version, not lost
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        version.refresh_from_db()
        return version
    stage("promotion gate")
    gated = gate(version)
    if inner is not None and gated.status == ModelVersion.Status.CANDIDATE:
        inner_metrics = gated.metrics.get("stage") or {}
        if inner_metrics.get("beats_stage") is False:
            return _gate_stage(gated, *inner)
    return gated


def _gate_stage(
    two_stage: ModelVersion, model: algorithms.Recommender, td: selectors.TrainingData
) -> ModelVersion:
    """The two-stage model did not beat its own EASE stage: that stage, already fitted on all
    data and evaluated on the same split, goes through the gate as a version of its own."""
    stage = two_stage.metrics["stage"]
    test = {k: v for k, v in stage.items() if k not in ("algorithm", "params", "beats_stage")}
    version = ModelVersion.objects.create(
        algorithm=model.name,
        params=model.params,
        status=ModelVersion.Status.TRAINING,
        started_at=two_stage.started_at,
    )
    key = default_storage.save(
        f"recommendations/models/v{version.pk:06d}-{model.name}.npz",
        ContentFile(
            algorithms.dumps(
                model,
                {
                    "title_ids": td.title_ids,
                    "profile_ids": td.profile_ids,
                    "countries": td.countries,
                },
            )
        ),
    )
    version.artifact_key = key
    version.training_seconds = two_stage.training_seconds
    version.data_from, version.data_to = two_stage.data_from, two_stage.data_to
    version.n_profiles, version.n_titles = two_stage.n_profiles, two_stage.n_titles
    version.n_interactions = two_stage.n_interactions
    version.metrics = {
        # (its lambda was validated inside the two-stage fit, not by a search of its own:
        # an `ease` training never reuses it as a searched recipe)
        **{
            k: v
            for k, v in two_stage.metrics.items()
            if k not in ("test", "stage", "search", "params_searched_at", "params_reused_from")
        },
        "test": test,
        "stage_of": two_stage.pk,
        "search": [],
    }
    version.status = ModelVersion.Status.CANDIDATE
    version.finished_at = timezone.now()
    version.save()
    return gate(version)


def _fit_evaluate_store(
    version: ModelVersion, search_params: bool, holdout: int, stage: Callable[[str], None]
) -> tuple[algorithms.Recommender, selectors.TrainingData] | None:
    """Fit, evaluate, store the artifact; returns the candidate's fitted inner stage (a
    two-stage model's EASE, fitted on all data) for the gate, if it has one."""
    from recommendations import activity  # activity writes through this module

    stage("fold pending activity")
    activity.fold_pending()
    stage("load interactions")
    td = selectors.training_data()
    data = td.data
    if data.nnz == 0 and not activity.has_activity():
        raise ValidationFailed(
            gettext(
                "No viewing activity to learn from: import some first "
                "(manage.py import_movielens PATH) or let viewers watch."
            )
        )
    if data.nnz == 0 or data.shape[1] < 2:
        raise ValidationFailed(
            f"Not enough interactions to train on (need two titles or more; "
            f"{data.nnz} positive interactions on {data.shape[1]} titles after folding)."
        )
    allowed = selectors.allowed_matrix(td)
    stage("split")
    split = evaluation.temporal_split(data, holdout=holdout)
    if split.test.nnz == 0:
        raise ValidationFailed(
            f"No profile has more than {holdout} interactions: nothing to hold out for testing."
        )
    stage("choose hyper-parameters")
    params = dict(version.params)
    trials: list[dict[str, Any]] = []
    searched_at: datetime | None = None  # when these parameters were chosen by a full search
    reused_from: int | None = None
    if search_params:
        reuse = reusable_params(version.algorithm)
        if reuse is not None:
            source, searched_at = reuse
            params, reused_from = dict(source.params), source.pk
            stage(f"parameters of live version #{source.pk} (searched {searched_at:%Y-%m-%d})")
        else:
            # (a two-stage model's search runs inside its fit, on its own carve-off)
            result = evaluation.search(
                version.algorithm, split.train, holdout=holdout, allowed=allowed, progress=stage
            )
            params, trials = result.best_params, result.trials
            searched_at = timezone.now()
    stage("evaluate candidate")
    candidate = algorithms.build(version.algorithm, params)
    split_seconds = evaluation.fit_timed(candidate, split.train)
    test = evaluation.evaluate(candidate, split, allowed=allowed).as_dict()
    stage("evaluate baselines")
    # a two-stage model must beat its own EASE stage (fitted on the same split: one scoring)
    inner = candidate.stage_model()
    stage_test = evaluation.evaluate(inner, split, allowed=allowed).as_dict() if inner else None
    pop = algorithms.build("popularity")
    evaluation.fit_timed(pop, split.train)
    baseline = evaluation.evaluate(pop, split, allowed=allowed).as_dict()
    live = ModelVersion.objects.live().first()
    live_metrics: dict[str, Any] | None = None
    if live is not None:
        # The live model's own artifact has seen this holdout; refit its recipe on this split,
        # unless it is the candidate's own recipe (same fit, same split: the same numbers; the
        # gate then asks whether the data is newer, not whether the recipe is better).
        same_recipe = live.algorithm == version.algorithm and live.params == candidate.params
        if same_recipe:
            live_test = dict(test)
        else:
            live_model = algorithms.build(live.algorithm, live.params)
            evaluation.fit_timed(live_model, split.train)
            live_test = evaluation.evaluate(live_model, split, allowed=allowed).as_dict()
        live_metrics = {"version": live.pk, "same_recipe": same_recipe, **live_test}
    stage("fit on all data")
    # the candidate refitted on everything: parameters kept (a two-stage model keeps its ranker)
    final = candidate
    t0 = time.perf_counter()
    final.refit(data)
    seconds = time.perf_counter() - t0
    stage("store artifact")
    blob = algorithms.dumps(
        final,
        {
            "title_ids": td.title_ids,
            "profile_ids": td.profile_ids,
            "countries": td.countries,
        },
    )
    key = default_storage.save(
        f"recommendations/models/v{version.pk:06d}-{version.algorithm}.npz", ContentFile(blob)
    )
    version.params = final.params
    version.artifact_key = key
    version.training_seconds = round(seconds, 4)
    version.data_from = td.data_from
    version.data_to = td.data_to
    version.n_profiles = int(data.shape[0])
    version.n_titles = int(data.shape[1])
    version.n_interactions = data.nnz
    version.metrics = {
        "protocol": {"holdout": holdout, "k": 10, "test_profiles": test["users"]},
        "test": test,
        "popularity": baseline,
        "live": live_metrics,
        "stage": (
            {"algorithm": inner.name, "params": inner.params, **stage_test}
            if inner is not None and stage_test is not None
            else None
        ),
        "split_train_seconds": round(split_seconds, 4),
        "search": trials,
        "validated": search_params,
        "params_searched_at": searched_at.isoformat() if searched_at else None,
        "params_reused_from": reused_from,
    }
    version.status = ModelVersion.Status.CANDIDATE
    version.finished_at = timezone.now()
    version.save()
    stage_inner = final.stage_model()
    return (stage_inner, td) if stage_inner is not None else None


def reusable_params(
    algorithm: str, *, now: datetime | None = None
) -> tuple[ModelVersion, datetime] | None:
    """The live version whose hyper-parameters a training of `algorithm` reuses instead of
    searching, and when this algorithm's last full search ran; None when a search is due.

    Reused only when the live version is of the same algorithm and a full validation search
    of that algorithm ran less than `RECS_FULL_SEARCH_DAYS` ago (by any version, whatever the
    gate then decided: the live parameters are the ones the gate kept). A reuse records the
    search time it relied on, not its own, so a full search runs at least that often; 0
    searches on every training. Explicit parameters (`params=`) never search.
    """
    days = int(settings.RECS_FULL_SEARCH_DAYS)
    if days <= 0:
        return None
    live = ModelVersion.objects.live().first()
    if live is None or live.algorithm != algorithm or not live.params:
        return None
    searched_at = last_full_search(algorithm)
    if searched_at is None or searched_at <= (now or timezone.now()) - timedelta(days=days):
        return None
    return live, searched_at


def last_full_search(algorithm: str) -> datetime | None:
    """When a training of `algorithm` last chose its hyper-parameters by a full search."""
    finished = ModelVersion.objects.filter(algorithm=algorithm).exclude(
        status__in=(
            ModelVersion.Status.QUEUED,
            ModelVersion.Status.TRAINING,
            ModelVersion.Status.FAILED,
        )
    )
    for metrics in finished.order_by("-pk").values_list("metrics", flat=True).iterator():
        stamp = (metrics or {}).get("params_searched_at")
        if stamp:
            return datetime.fromisoformat(stamp)
    return None
