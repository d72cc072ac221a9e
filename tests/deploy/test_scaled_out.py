"""The scale-out, shown running: `deploy/up_scaled.py` (what `make up-scaled` runs) puts nginx
in front of two gunicorn processes, two Celery workers, beat and the CDN health poller on one
PostgreSQL and one Redis. In Debian's Chromium, through nginx only:

- the billing journey: a new visitor signs up, confirms the address with the link from the
  email (sent by a worker), signs in, picks Basic and checks out with a sandbox test card;
- the viewer journey: opens the title and plays real HLS, the player beats;
- requests land on both web processes (from their access logs); one web process is killed
  mid-playback, and the heartbeats, the pages and a new playback go on on the other one
  without signing anyone out (sessions are in PostgreSQL, caches in Redis).

The same steps and selectors as tests/billing/test_journey_browser.py and
tests/playback/sessions/test_browser.py, but against separate processes (those tests drive
pytest-django's in-process live server and move its clock, which cannot cross processes).
"""

from __future__ import annotations

import importlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, connections

from playback.demo.clip import make_hls_asset
from tests.playback.sessions.factories import TitleFactory

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-Horse-battery-9"
VIDEO = "document.getElementById('player-video')"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_process,
    pytest.mark.needs_nginx,
    pytest.mark.needs_browser,
    pytest.mark.needs_ffmpeg,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or connection.vendor != "postgresql",
        reason="the scale-out needs a postgres DATABASE_URL and REDIS_URL (CI sets both)",
    ),
]


class Stack:
    def __init__(self, url: str, log: Path, proc: subprocess.Popen, web_ports: list[int]):
        self.url, self.log, self.proc, self.web_ports = url, log, proc, web_ports

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def served_by(self, name: str) -> int:
        """Requests in `name`'s gunicorn access log (honcho prefixes each line with it)."""
        pattern = re.compile(rf"^\S+ {name}\.\d+\s+\| .*\"(GET|POST|HEAD) /", re.M)
        return len(pattern.findall(self.output()))

    def kill_web(self, port: int) -> None:
        """SIGKILL a gunicorn master and its workers: a crash, not a graceful stop."""
        found = re.findall(rf"Listening at: http://127\.0\.0\.1:{port} \((\d+)\)", self.output())
        master = int(found[-1])
        children = [
            int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == master
        ]
        os.kill(master, signal.SIGKILL)
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _ppid(proc_dir: Path) -> int:
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def _beat_at(session_id):
    """When the session's lease was last renewed by a heartbeat (None before the first)."""
    from playback.models import PlaybackSession

    return PlaybackSession.objects.get(pk=session_id).last_heartbeat_at


def _wait(predicate, *, timeout: float, what: str, stack: Stack | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if stack is not None and stack.proc.poll() is not None:
            raise AssertionError(f"up-scaled exited:\n{stack.output()[-4000:]}")
        if time.monotonic() > deadline:
            tail = stack.output()[-4000:] if stack else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.3)


@pytest.fixture
def plans():
    importlib.import_module("billing.migrations.0002_seed_plans").seed(
        __import__("django.apps", fromlist=["apps"]).apps, None
    )


@pytest.fixture
def stack(tmp_path, plans):
    if not shutil.which("nginx"):
        pytest.fail("nginx is required (apt-get install nginx; see .ci/packages.sh)")
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    # The test's own database and its own Redis database (the one this xdist worker's cache
    # uses, emptied between tests), so no other test's workers take these tasks.
    cache_location = settings.CACHES["default"]["LOCATION"]
    redis_url = urlunsplit(
        urlsplit(settings.REDIS_URL)._replace(path=urlsplit(cache_location).path)
    )
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "streamsite.settings.production",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(64),
        # Production's own signing secrets, each independent of SECRET_KEY (streamsite.checks).
        "CDN_SIGNING_SECRETS": secrets.token_urlsafe(48),
        "BILLING_SANDBOX_WEBHOOK_SECRET": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no redirect, no HSTS; nginx is the one proxy in front.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "STREAMSITE_VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PLAYBACK_HEARTBEAT_SECONDS": "2",
        "CDN_SERVE_MEDIA": "true",
        "EMAIL_URL": "consolemail://",
        "WEB_CONCURRENCY": "2",
        "CELERY_CONCURRENCY": "1",
        "LOG_FORMAT": "text",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    log_path = tmp_path / "up-scaled.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "deploy/up_scaled.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = Stack("", log_path, proc, [])
    _wait(lambda: "up-scaled: http://" in stack.output(), timeout=30, what="start", stack=stack)
    first = re.search(r"up-scaled: (http://\S+)/ -> web on \[(\d+), (\d+)\]", stack.output())
    stack.url, stack.web_ports = first.group(1), [int(first.group(2)), int(first.group(3))]
    try:
        for port in stack.web_ports:
            _wait(
                lambda p=port: _status(f"http://127.0.0.1:{p}/healthz") == 200,
                timeout=180,
                what=f"web on {port}",
                stack=stack,
            )
        _wait(
            lambda: _status(f"{stack.url}/readyz") == 200,
            timeout=60,
            what="/readyz through nginx",
            stack=stack,
        )
        _wait(
            lambda: stack.output().count("ready.") >= 2,  # both Celery workers
            timeout=120,
            what="two Celery workers",
            stack=stack,
        )
        yield stack
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        connections.close_all()


@pytest.fixture
def page(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required at /usr/bin/chromium (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
        browser.close()
        connections.close_all()


def _js(page, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def test_both_journeys_through_nginx_across_two_web_processes_survive_losing_one(
    stack, page, tmp_path
):
    from playback.models import PlaybackSession

    film = TitleFactory(name="Paper Kingdom", slug="paper-kingdom")
    # A local asset in the stack's MEDIA_ROOT (STREAMSITE_VAR_DIR/media): hls/<key>/local/.
    make_hls_asset(tmp_path / "media" / "hls" / f"title-{film.pk}" / "local", seconds=8)
    url = stack.url
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- Billing journey: sign up, confirm from the email a worker sent, sign in.
    page.goto(f"{url}/signup/")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=profile_name]", "Dana")
    page.click("button:text-is('Sign up')")
    page.wait_for_url("**/signup/done/")
    verify = re.compile(r"^\S+ worker\d\.\d+\s+\| .*?(/verify/[^/\s]+/)", re.M)
    _wait(lambda: verify.search(stack.output()), timeout=60, what="the email", stack=stack)
    page.goto(url + verify.search(stack.output()).group(1))
    page.wait_for_url("**/login/**")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text-is('Sign in')")
    page.wait_for_url("**/profiles/**")
    page.click("button.profile-tile:has-text('Dana')")
    page.wait_for_url("**/plans/?welcome=1")  # an account without a plan is led to the plans
    page.click("a:text-is('Choose Basic')")
    page.wait_for_url("**/plans/basic/checkout/**")
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#exp_month", "12")
    page.fill("#exp_year", "2030")
    page.fill("#cvc", "123")
    page.click("button:text-is('Start free trial')")
    page.wait_for_url("**/account/billing/")
    assert "Welcome to Basic!" in page.inner_text(".messages")
    assert "Basic Trialing" in page.inner_text(".panel")

    # --- Viewer journey: the title plays real HLS and the player beats.
    page.goto(f"{url}/title/{film.slug}")
    page.click("#play-button")
    page.wait_for_url(f"**/watch/{film.pk}/")
    _js(page, f"{VIDEO}.currentTime > 0.5")
    (session,) = PlaybackSession.objects.filter(ended_at__isnull=True)
    # Every heartbeat renews the lease row (its position may wait in Redis for the flush).
    _wait(lambda: _beat_at(session.pk) is not None, timeout=30, what="heartbeats")
    served = {name: stack.served_by(name) for name in ("web1", "web2")}
    assert served["web1"] > 0 and served["web2"] > 0, served  # nginx spread the journey

    # --- One web process dies mid-playback.
    stack.kill_web(stack.web_ports[0])
    for _ in range(2):  # two heartbeats after the kill
        seen = _beat_at(session.pk)
        _wait(
            lambda seen=seen: _beat_at(session.pk) > seen,
            timeout=30,
            what="heartbeats after the kill",
        )
    web2_before = stack.served_by("web2")
    page.goto(f"{url}/account/billing/")  # leaving the player stops its stream
    assert "Basic Trialing" in page.inner_text(".panel")  # still signed in, same account
    assert "/login" not in page.url
    # The stop beacon reaches the surviving web process (nginx passes it on): the stream's
    # slot is free before the viewer comes back (a one-stream plan would refuse otherwise).
    _wait(
        lambda: not PlaybackSession.objects.filter(pk=session.pk, ended_at__isnull=True).exists(),
        timeout=30,
        what="the stop beacon",
        stack=stack,
    )
    page.goto(f"{url}/watch/{film.pk}/")
    _js(page, f"{VIDEO}.currentTime > 0.5")
    assert stack.served_by("web2") > web2_before
    assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 1
    assert errors == []
