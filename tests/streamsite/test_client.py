"""The typed client (streamsite/api/client.py) against the schema, and the "build your own
player" example (docs/examples/player.py) against a live gunicorn (issue 16, item 3)."""

from __future__ import annotations

import os
import re
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts import services as account_services
from streamsite.api.client import ApiError, StreamsiteClient
from streamsite.wsgi import application
from tests.factories import UserFactory
from tests.playback.sessions.conftest import subscribe, write_fake_asset
from tests.playback.sessions.factories import TitleFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "player.py"
PASSWORD = "a long and sturdy passphrase"
RAW = SchemaGenerator().get_schema(request=None, public=True)
SCHEMA = schemathesis.openapi.from_dict(RAW)


class RecordingTransport(httpx.BaseTransport):
    """The in-process site, remembering every exchange for the schema to judge."""

    def __init__(self) -> None:
        self.inner = httpx.WSGITransport(app=application)
        self.exchanges: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        response.elapsed = timedelta(0)  # the client sets it later; the judge reads it
        self.exchanges.append(response)
        return response


def _household(media_root: Path, email: str = "player@example.com"):
    user = UserFactory(email=email, password=PASSWORD, email_verified_at=timezone.now())
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    subscribe(user)
    profile = account_services.profile_create(account=user, name="Sam")
    title = TitleFactory(name="The Long Take", slug="the-long-take")
    write_fake_asset(media_root, f"title-{title.pk}")
    return user, profile, title


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_process")
def test_every_answer_the_client_receives_is_what_the_schema_documents(media_root):
    _, profile, title = _household(media_root)
    transport = RecordingTransport()
    api = StreamsiteClient.sign_in(
        "http://localhost", "player@example.com", PASSWORD, transport=transport
    )
    assert [p.id for p in api.profiles()] == [profile.pk]
    api.use_profile(profile.pk)
    found = api.search("long take")
    assert (found.count, [t.id for t in found.results]) == (1, [title.pk])
    session = api.start_playback(title.pk)
    assert "#EXTM3U" in api.master_playlist(session)
    beat = api.heartbeat(session.session_id, seq=1, position=12.5)
    assert (beat.session_id, beat.applied) == (session.session_id, True)
    api.stop(session.session_id, position=12.5, seq=2)
    with pytest.raises(ApiError) as stopped:
        api.heartbeat(session.session_id, seq=3, position=13)
    assert stopped.value.status == 409

    judged = []
    for response in transport.exchanges:
        path = response.request.url.path
        operation = SCHEMA.find_operation_by_path(response.request.method, path)
        assert operation is not None, path
        documented = RAW["paths"][operation.path][operation.method.lower()]["responses"]
        assert str(response.status_code) in documented, (path, response.status_code)
        operation.validate_response(response)
        judged.append((operation.method.upper(), operation.path, response.status_code))
    assert [(m, p) for m, p, _ in judged] == [
        ("POST", "/api/v1/auth/token"),
        ("GET", "/api/v1/profiles"),
        ("GET", "/api/v1/titles"),
        ("POST", "/api/v1/playback/sessions"),
        ("GET", "/playback/t/{key}/{signature}/{expires}/session/{session_id}/master.m3u8"),
        ("POST", "/api/v1/playback/sessions/{session_id}/heartbeat"),
        ("POST", "/api/v1/playback/sessions/{session_id}/stop"),
        ("POST", "/api/v1/playback/sessions/{session_id}/heartbeat"),
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_process")
def test_a_wrong_password_is_an_api_error_in_the_one_shape(media_root):
    _household(media_root)
    with pytest.raises(ApiError) as refused:
        StreamsiteClient.sign_in(
            "http://localhost",
            "player@example.com",
            "not it",
            transport=httpx.WSGITransport(app=application),
        )
    assert (refused.value.status, refused.value.code) == (401, "invalid_credentials")


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_process")
def test_a_field_error_names_the_field(media_root):
    user, profile, _ = _household(media_root)
    _, plaintext = account_services.api_token_create(user=user, name="t")
    api = StreamsiteClient(
        "http://localhost",
        token=plaintext,
        profile_id=profile.pk,
        transport=httpx.WSGITransport(app=application),
    )
    with pytest.raises(ApiError) as refused:
        api.search("x", page_size=1000)
    assert (refused.value.status, list(refused.value.fields)) == (400, ["page_size"])


# --- The example against a live server ---------------------------------------------------


def _port_in_range() -> int:
    """A free port in this suite's range for servers (8300-8399)."""
    for port in range(8300, 8400):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8300-8399")


@pytest.fixture
def live_server_url(tmp_path, media_root):
    """gunicorn serving the site on the test database (committed rows: transactional test)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    port = _port_in_range()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "streamsite.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL or "",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MEDIA_ROOT": str(media_root),
        "STREAMSITE_VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "streamsite.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


@pytest.mark.needs_process
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gunicorn shares the test database only on PostgreSQL (CI's make test runs on it)",
)
@pytest.mark.django_db(transaction=True)
def test_the_build_your_own_player_example_runs_against_a_live_server(
    live_server_url, media_root, capsys, settings
):
    # The server runs the dev settings' hashers, not the tests' fast MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user, profile, title = _household(media_root)
    example = runpy.run_path(str(EXAMPLE))
    position = example["play"](live_server_url, "player@example.com", PASSWORD, "long take")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "signed in"
    assert out[1] == "profile: Sam"
    assert out[2] == "found 1: The Long Take"
    assert re.fullmatch(r"session [0-9a-f-]{36}, up to 1080p", out[3])
    assert out[4] == "master playlist: 3 renditions"
    assert out[5:8] == [f"heartbeat {n}: applied=True" for n in (1, 2, 3)]
    assert out[8] == f"stopped at {position:.0f}s"
    from playback.models import PlaybackSession

    session = PlaybackSession.objects.get(profile=profile)
    assert (session.title_id, session.ended_at is not None) == (title.pk, True)
    assert user.api_tokens.get().name == "my player"
    assert sys.modules.get("streamsite.api.client") is not None
