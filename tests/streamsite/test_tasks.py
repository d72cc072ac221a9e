"""Tasks enqueued inside a transaction run only after commit, never after a rollback."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.tasks import clear_expired_sessions


def _expired_session() -> Session:
    return Session.objects.create(
        session_key="expired0000000000000000000000000",
        session_data="",
        expire_date=timezone.now() - timedelta(days=1),
    )


@pytest.mark.django_db(transaction=True)
def test_task_runs_after_commit():
    _expired_session()
    with transaction.atomic():
        clear_expired_sessions.delay_on_commit()
        assert Session.objects.count() == 1  # not yet: still inside the transaction
    assert Session.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_task_never_runs_after_rollback():
    _expired_session()
    with pytest.raises(RuntimeError), transaction.atomic():
        clear_expired_sessions.delay_on_commit()
        raise RuntimeError("roll back")
    assert Session.objects.count() == 1


@pytest.mark.django_db
def test_clear_expired_sessions_is_idempotent():
    _expired_session()
    Session.objects.create(
        session_key="live0000000000000000000000000000",
        session_data="",
        expire_date=timezone.now() + timedelta(days=1),
    )
    assert clear_expired_sessions() == 1
    assert clear_expired_sessions() == 0
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        "live0000000000000000000000000000"
    ]


def test_every_beat_entry_names_a_registered_task(settings):
    from streamsite.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_celery_is_configured_for_safe_redelivery():
    from streamsite.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_default_delivery_mode == "persistent"
    assert conf.task_ignore_result is True
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_the_ack_deadline_outlasts_the_longest_hard_limit(settings):
    hard_limits = [hard for _soft, hard in settings.CELERY_QUEUE_TIME_LIMITS.values()]
    assert settings.CELERY_BROKER_ACK_DEADLINE == max(hard_limits) + 300 == 3900 + 300


def test_each_queue_gives_its_tasks_its_own_time_limits():
    from streamsite.celery import app

    app.loader.import_default_modules()
    limits = {
        name: (app.tasks[name].soft_time_limit, app.tasks[name].time_limit)
        for name in (
            "streamsite.ping",
            "accounts.tasks.send_account_email",
            "billing.tasks.process_webhook_event",
            "billing.tasks.run_renewals",
            "cdn.tasks.warm_edge_content",
            "recommendations.tasks.fold_activity",
            "recommendations.tasks.train_model",
            "media.tasks.media_transcode",
        )
    }
    assert limits == {
        "streamsite.ping": (60, 90),
        "accounts.tasks.send_account_email": (60, 90),
        "billing.tasks.process_webhook_event": (60, 90),
        "billing.tasks.run_renewals": (600, 660),
        "cdn.tasks.warm_edge_content": (600, 660),
        "recommendations.tasks.fold_activity": (600, 660),
        "recommendations.tasks.train_model": (3600, 3900),
        "media.tasks.media_transcode": (3600, 3900),
    }


def test_queue_for_prefers_an_exact_route_then_a_pattern_then_the_default(settings):
    from streamsite.taskqueues import queue_for

    settings.CELERY_TASK_ROUTES = {
        "app.tasks.*": {"queue": "batch"},
        "app.tasks.quick": {"queue": "default"},
    }
    assert queue_for("app.tasks.quick") == "default"
    assert queue_for("app.tasks.slow") == "batch"
    assert queue_for("other.task") == "default"


def test_a_task_with_its_own_limits_keeps_them():
    from streamsite.taskqueues import QueueTimeLimits

    class Declared:
        name = "billing.tasks.run_renewals"
        soft_time_limit = 5
        time_limit = None

    assert QueueTimeLimits().annotate(Declared()) == {"time_limit": 660}


def test_every_queue_a_route_names_is_consumed_by_a_procfile_worker(settings):
    from pathlib import Path

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    consumed: set[str] = set()
    for line in procfile.splitlines():
        if " worker " in line and "--queues" in line:
            consumed |= set(line.split("--queues ", 1)[1].split()[0].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed
    assert (
        consumed
        == set(settings.CELERY_QUEUE_TIME_LIMITS)
        == {
            "default",
            "batch",
            "long",
            "transcode",
        }
    )


def test_the_celery_checks_pass_on_the_shipped_settings():
    from streamsite.checks import queue_time_limits

    assert queue_time_limits() == []


def test_the_celery_checks_name_each_inconsistent_setting(settings):
    from streamsite.checks import queue_time_limits

    settings.CELERY_QUEUE_TIME_LIMITS = {"default": (90, 90), "batch": (10, 20)}
    settings.CELERY_TASK_ROUTES = {"x.y": {"queue": "video"}}
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60}
    errors = queue_time_limits()
    assert [(e.id, e.msg) for e in errors] == [
        ("celery.E001", "Queue 'video' has no entry in CELERY_QUEUE_TIME_LIMITS."),
        (
            "celery.E002",
            "Queue 'default': the soft time limit (90 s) must be below the hard one (90 s).",
        ),
        (
            "celery.E003",
            "The broker's visibility timeout (60 s) must outlast the longest hard time limit "
            "(90 s).",
        ),
    ]
