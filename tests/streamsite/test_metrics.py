"""Prometheus counters: requests by route, tasks by state, playback sessions opened; and the
metrics port of a real gunicorn summing its forked workers (multiprocess mode)."""

import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from prometheus_client import REGISTRY

from bench.chaos.infra import free_port
from streamsite import metrics
from streamsite.tasks import ping
from tests.factories import UserFactory
from tests.playback.sessions.factories import ProfileFactory, TitleFactory
from tests.streamsite.gunicorn_process import start_gunicorn


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_request_is_counted_once_under_its_route_name_and_status(client):
    before = _value("streamsite_http_requests_total", view="healthz", method="GET", status="200")
    timed = _value("streamsite_http_request_duration_seconds_count", view="healthz")

    assert client.get("/healthz").status_code == 200

    after = _value("streamsite_http_requests_total", view="healthz", method="GET", status="200")
    assert after - before == 1
    assert _value("streamsite_http_request_duration_seconds_count", view="healthz") - timed == 1


def test_an_unknown_path_is_counted_without_its_path(client):
    labels = {"view": "<unmatched>", "method": "GET", "status": "404"}
    before = _value("streamsite_http_requests_total", **labels)

    assert client.get("/no-such-page/4711").status_code == 404

    assert _value("streamsite_http_requests_total", **labels) - before == 1
    exposed = metrics.exposition().decode()
    assert "no-such-page" not in exposed  # paths (and the ids in them) never become labels


def test_a_finished_task_is_counted_by_name_and_state():
    labels = {"task": "streamsite.ping", "state": "SUCCESS"}
    before = _value("streamsite_celery_tasks_total", **labels)

    assert ping.delay().get() == "pong"

    assert _value("streamsite_celery_tasks_total", **labels) - before == 1


@pytest.mark.django_db
def test_a_new_playback_session_is_counted_and_an_update_is_not():
    (model,) = [m for m in apps.get_models() if m.__name__ == "PlaybackSession"]
    user = UserFactory()
    profile = ProfileFactory(account=user)
    title = TitleFactory()
    before = _value("streamsite_playback_sessions_started_total")

    session = model.objects.create(
        account=user,
        profile=profile,
        title=title,
        max_height=1080,
        expires_at=timezone.now() + timedelta(seconds=75),
    )
    session.position_seconds = 12
    session.save()

    assert _value("streamsite_playback_sessions_started_total") - before == 1


def _get(url: str, proc: subprocess.Popen, timeout: float = 60) -> bytes:
    """One request, retried only while nothing listens yet (a refused connection is never
    counted); a slow first answer (Django loading in the worker) is waited for, not retried."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, "gunicorn exited"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read()
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                raise
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {url}") from error
            time.sleep(0.2)


@pytest.mark.slow
def test_gunicorn_metrics_port_sums_requests_across_forked_workers(tmp_path):
    web, metrics_port = free_port(), free_port()
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    proc = start_gunicorn(
        web,
        tmp_path,
        env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "METRICS_PORT": str(metrics_port)},
    )
    try:
        for _ in range(10):
            _get(f"http://127.0.0.1:{web}/healthz", proc)
        body = _get(f"http://127.0.0.1:{metrics_port}/metrics", proc).decode()
        # The app port does not serve them: the metrics are on their own listener only.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=5)
        assert refused.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    line = 'streamsite_http_requests_total{method="GET",status="200",view="healthz"} 10.0'
    assert line in body, body[:2000]
    # Each forked worker kept its own file: the 10 came from summing them.
    assert len(list(multiproc.glob("counter_*.db"))) >= 2
