"""Retraining triggered by activity volume: due, debounced, one at a time, through Celery."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from recommendations import services
from recommendations.models import Interaction, ModelVersion
from tests.recommendations.factories import ProfileFactory, TitleFactory


def interactions(n: int, *, last_at=None) -> None:
    profile = ProfileFactory()
    for title in TitleFactory.create_batch(n):
        Interaction.objects.create(
            profile=profile, title=title, weight=1.0, last_at=last_at or timezone.now()
        )


def test_enough_new_activity_queues_one_training_after_commit(
    db, settings, django_capture_on_commit_callbacks
):
    settings.RECS_RETRAIN_AFTER = 3
    settings.RECS_RETRAIN_MIN_MINUTES = 30
    now = timezone.now()
    last = ModelVersion.objects.create(
        algorithm="ease", status="live", created_at=now - timedelta(hours=2)
    )
    interactions(2, last_at=now - timedelta(minutes=5))
    interactions(1, last_at=now - timedelta(hours=3))  # before the last training
    assert services.retrain_if_due(now=now) is None  # 2 changed, 3 needed
    assert ModelVersion.objects.count() == 1

    interactions(1, last_at=now - timedelta(minutes=1))
    with django_capture_on_commit_callbacks() as callbacks:
        queued = services.retrain_if_due(now=now)
    assert queued is not None
    assert queued.status == "queued"
    assert len(callbacks) == 1
    # one at a time: while it is queued nothing else is
    assert services.retrain_if_due(now=now) is None
    assert list(ModelVersion.objects.order_by("pk").values_list("pk", "status")) == [
        (last.pk, "live"),
        (queued.pk, "queued"),
    ]


def test_a_recent_training_debounces_the_trigger(db, settings):
    settings.RECS_RETRAIN_AFTER = 1
    settings.RECS_RETRAIN_MIN_MINUTES = 30
    now = timezone.now()
    ModelVersion.objects.create(
        algorithm="ease", status="candidate", created_at=now - timedelta(minutes=10)
    )
    interactions(5, last_at=now)
    assert services.retrain_if_due(now=now) is None
    assert ModelVersion.objects.count() == 1
    # 31 minutes after it, the same activity is due
    assert services.retrain_if_due(now=now + timedelta(minutes=21)) is not None
    assert ModelVersion.objects.count() == 2


def test_zero_threshold_means_nightly_only(db, settings):
    settings.RECS_RETRAIN_AFTER = 0
    interactions(3)
    assert services.retrain_if_due() is None
    assert ModelVersion.objects.count() == 0
    assert Interaction.objects.count() == 3
