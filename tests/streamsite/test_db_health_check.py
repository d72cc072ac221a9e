"""streamsite.db.postgresql: the per-request health check of a persistent connection asks the
socket, not the server. An intact connection is kept without a statement; one the server has
ended (pg_terminate_backend, as a restart does) is closed, and the next query reconnects."""

from __future__ import annotations

import select
import time

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend of PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _new_request() -> None:
    """What Django does for a request with CONN_HEALTH_CHECKS: the check is due again."""
    connection.health_check_enabled = True
    connection.health_check_done = False


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_backend_is_the_project_s():
    assert type(connections["default"]).__module__ == "streamsite.db.postgresql.base"


def test_an_intact_connection_is_kept_without_a_statement(monkeypatch):
    first = _backend_pid()
    raw = connection.connection
    sent = []
    monkeypatch.setattr(connection, "is_usable", lambda: sent.append("SELECT 1") or True)
    _new_request()
    assert _backend_pid() == first
    assert connection.connection is raw
    assert connection.health_check_done is True
    assert sent == []  # Django's own check would have sent SELECT 1 here


def test_a_connection_the_server_ended_is_replaced_before_the_request_s_first_query(
    second_connection,
):
    first = _backend_pid()
    raw = connection.connection
    terminated = second_connection.execute("SELECT pg_terminate_backend(%s)", [first])
    assert terminated.fetchone() == (True,)
    deadline = time.monotonic() + 5
    while not select.select([raw.fileno()], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the server did not close the session"
    assert connection.socket_intact() is False
    _new_request()
    second = _backend_pid()  # no error: the check closed it, this query opened a new one
    assert second != first
    assert connection.connection is not raw


def test_without_the_check_due_a_dead_connection_is_not_looked_at(second_connection):
    """Within one request (the check done) nothing is asked: the query that meets a dead
    connection fails, as with Django's own check, and marks it for the next request."""
    from django.db import OperationalError

    first = _backend_pid()
    raw = connection.connection
    second_connection.execute("SELECT pg_terminate_backend(%s)", [first])
    deadline = time.monotonic() + 5
    while not select.select([raw.fileno()], [], [], 0.05)[0]:
        assert time.monotonic() < deadline
    connection.health_check_done = True
    with pytest.raises(OperationalError):
        _backend_pid()
    connection.close_if_unusable_or_obsolete()  # the request's end: errors seen, so closed
    assert connection.connection is None
    assert _backend_pid() != first
