"""/healthz says the process is up; /readyz says whether its backing services answer."""

from unittest import mock

import pytest
from django.db import OperationalError


def test_healthz_is_ok_without_touching_anything(db, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_when_everything_answers(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client, settings):
    # A real connection attempt to a port where nothing listens.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False
    assert "Error" in body["checks"]["broker"]["detail"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client):
    from django.db import connections

    with mock.patch.object(
        type(connections["default"]),
        "cursor",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["detail"] == "OperationalError: connection refused"


@pytest.mark.django_db
def test_readyz_names_the_cache_when_it_is_down(client):
    with mock.patch("streamsite.health.cache") as cache:
        cache.set.side_effect = ConnectionError("cache unreachable")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
