"""Fixtures: alice (owner), bob (another account), staff; API clients for each. Markers for
what a test needs from the machine (a browser, ffmpeg, nginx, a server process)."""

import os
import sys
from pathlib import Path

if sys.dont_write_bytecode:
    # PYTHONDONTWRITEBYTECODE also stops pytest caching the test modules it rewrites for its
    # assert messages, so every run would parse and rewrite all of them again: most of the
    # collection time. Keep the caches, out of the source tree.
    sys.pycache_prefix = str(Path(__file__).resolve().parents[1] / "var" / "pycache")
    sys.dont_write_bytecode = False

import pytest  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tests.factories import UserFactory  # noqa: E402


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.com")


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def staff_client(staff):
    """A browser signed in as the superuser `staff` (the admin's screens)."""
    from tests.clients import browser_client

    return browser_client(staff)


@pytest.fixture
def alice_api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def dead_cache(settings):
    """The default cache pointed at a port nobody listens on: Redis down."""
    from django.core.cache import cache

    from bench.chaos import infra

    settings.CACHES = {
        "default": {
            "BACKEND": "streamsite.cache.FailSoftRedisCache",
            "LOCATION": f"redis://127.0.0.1:{infra.free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    assert cache.get("anything") is None


@pytest.fixture(params=["client-side", "server-side"])
def binding(request):
    """Each way Django can bind parameters on PostgreSQL, whatever the settings say: psycopg's
    client-side binding, and server-side binding with every statement prepared at its first
    use (DATABASE_PREPARE_THRESHOLD). Needs a transactional test: the connection is reopened."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("parameter binding is psycopg's (PostgreSQL)")
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = dict(options)
    connections.close_all()
    options.pop("prepare_threshold", None)
    options["server_side_binding"] = request.param == "server-side"
    if request.param == "server-side":
        options["prepare_threshold"] = 0  # psycopg: prepared at the first use
    connection.features.__dict__.pop("uses_server_side_binding", None)  # a cached_property
    try:
        yield request.param
    finally:
        connections.close_all()
        options.clear()
        options.update(saved)
        connection.features.__dict__.pop("uses_server_side_binding", None)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from accounts import token_touch
    from catalog import caching, home_cache
    from media import ready_copies

    cache.clear()
    caching.forget_copies()  # fragments (a new version follows the clear) and the refresh pace
    home_cache.forget_local_pages()  # this process's copies of home pages
    ready_copies.forget()  # and of ready assets (ids come back on SQLite after a rollback)
    yield
    token_touch.discard()  # tokens' uses noted against this test's cache, never sent


# What a test needs from the machine. `make test-fast` leaves these out; `make test` runs them.
# A test is marked by the fixtures it uses; a test that starts the program itself carries the
# marker on its module. The guard below fails a test that starts a program its markers do not
# name, so the fast run stays runnable on a machine with only python3, make and npm.
NEEDS = {
    "needs_browser": "Chromium driven by Playwright",
    "needs_ffmpeg": "ffmpeg and ffprobe",
    "needs_nginx": "nginx",
    "needs_process": "server processes outside the test (make up: gunicorn, Celery)",
    "needs_gettext": "GNU gettext's xgettext and msgmerge (Django's makemessages)",
}
NEEDS_BY_FIXTURE = {
    "browser_page": "needs_browser",
    "clips": "needs_ffmpeg",
    "hls_source": "needs_ffmpeg",
    "ladder_source": "needs_ffmpeg",
    "nginx_edges": "needs_nginx",
    "nginx_origin": "needs_nginx",
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        for name in item.fixturenames:
            marker = NEEDS_BY_FIXTURE.get(name)
            if marker and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


def needed_for(program: str) -> str | None:
    """The marker a test needs to start `program`; None for python and the shell, and for
    `uname`, which the standard library's `platform` runs once per process (the Stripe SDK's
    user agent asks it) whichever test comes first."""
    path = Path(program)
    if program == sys.executable or path.name.startswith("python") or path.name in {"sh", "bash"}:
        return None
    if path.name == "uname":
        return None
    if path.name.startswith(("ffmpeg", "ffprobe")):  # Debian's or imageio-ffmpeg's
        return "needs_ffmpeg"
    if path.name == "nginx":
        return "needs_nginx"
    if path.name in {"xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt"}:
        return "needs_gettext"
    if "playwright" in path.parts or "chrom" in path.name:  # Playwright's driver, the browser
        return "needs_browser"
    return "needs_process"


_guard = {"item": None, "started": []}


def _audit(event: str, args: tuple) -> None:
    if _guard["item"] is None or event not in {"subprocess.Popen", "os.posix_spawn", "os.exec"}:
        return
    executable, argv = args[0], args[1]
    if isinstance(argv, str | bytes | os.PathLike):
        argv = [argv]
    program = os.fsdecode(executable or (argv[0] if argv else ""))
    _guard["started"].append(program)


sys.addaudithook(_audit)


def _unmarked_programs(item) -> list[str]:
    started, _guard["started"] = _guard["started"], []
    return sorted(
        {
            f"{program} (mark it {marker})"
            for program in started
            if (marker := needed_for(program)) and item.get_closest_marker(marker) is None
        }
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _guarded(item))


# Teardown is not guarded: a session-scoped fixture (a RabbitMQ vhost, say) is finalised in
# the teardown of whichever test ran last on the worker, which did not ask for it.


def _guarded(item):
    _guard["item"], _guard["started"] = item, []
    try:
        result = yield
    finally:
        _guard["item"] = None
    unmarked = _unmarked_programs(item)
    if unmarked:
        pytest.fail("this test starts " + ", ".join(unmarked), pytrace=False)
    return result


@pytest.fixture
def incr_calls(monkeypatch):
    """The keys the default cache's `incr` is called with from here on (shared versions bumped)."""
    from django.core.cache import cache

    calls: list[str] = []
    incr = cache.incr

    def counting(key, *args, **kwargs):
        calls.append(key)
        return incr(key, *args, **kwargs)

    monkeypatch.setattr(cache, "incr", counting)
    return calls


@pytest.fixture
def redis_trips(monkeypatch):
    """The Redis round trips the cache backend makes from here on, as lists of command names."""
    from streamsite.cache import _ReusedClients

    made: list[list[str]] = []
    original = _ReusedClients._round_trip

    def recording(self, commands):
        made.append([str(c[0]) for c in commands])
        return original(self, commands)

    monkeypatch.setattr(_ReusedClients, "_round_trip", recording)
    return made
