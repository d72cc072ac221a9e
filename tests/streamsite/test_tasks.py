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
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
