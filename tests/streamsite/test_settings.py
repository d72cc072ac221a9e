"""Settings come from the environment through one strict reader."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import ImproperlyConfigured

from streamsite.env import Env

ROOT = Path(__file__).resolve().parents[2]


class TestEnvReader:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("true", True), ("YES", True), ("1", True), ("on", True), ("false", False), ("0", False)],
    )
    def test_bool_accepts_the_usual_spellings(self, raw, expected):
        assert Env({"DEBUG": raw}).bool("DEBUG", False) is expected

    def test_bool_rejects_anything_else_naming_the_variable(self):
        with pytest.raises(ImproperlyConfigured, match=r"DEBUG must be a boolean.*'maybe'"):
            Env({"DEBUG": "maybe"}).bool("DEBUG", False)

    def test_missing_required_value_names_the_variable(self):
        with pytest.raises(ImproperlyConfigured, match="^SECRET_KEY must be set$"):
            Env({}).str("SECRET_KEY")

    def test_default_used_when_unset_or_empty(self):
        assert Env({}).int("WORKERS", 3) == 3
        assert Env({"WORKERS": ""}).int("WORKERS", 3) == 3

    def test_int_rejects_text_and_out_of_range(self):
        with pytest.raises(ImproperlyConfigured, match="SESSION_COOKIE_AGE must be an integer"):
            Env({"SESSION_COOKIE_AGE": "two weeks"}).int("SESSION_COOKIE_AGE", 1)
        with pytest.raises(ImproperlyConfigured, match="PORT must be at least 1, got 0"):
            Env({"PORT": "0"}).int("PORT", 1, min=1)

    def test_prefix_refuses_other_values_without_echoing_them(self):
        def read(environ):
            return Env(environ).str("BILLING_STRIPE_PUBLISHABLE_KEY", "", prefix=("pk_",))

        with pytest.raises(ImproperlyConfigured) as caught:
            read({"BILLING_STRIPE_PUBLISHABLE_KEY": "sk_live_secret"})
        assert str(caught.value) == "BILLING_STRIPE_PUBLISHABLE_KEY must start with pk_"
        assert read({}) == ""
        assert read({"BILLING_STRIPE_PUBLISHABLE_KEY": "pk_test_1"}) == "pk_test_1"

    def test_list_splits_on_commas(self):
        assert Env({"ALLOWED_HOSTS": "a.com, b.com,,"}).list("ALLOWED_HOSTS") == ["a.com", "b.com"]

    def test_choice_lists_allowed_values(self):
        with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE must be one of local, s3"):
            Env({"MEDIA_STORAGE": "ftp"}).choice("MEDIA_STORAGE", ("local", "s3"))

    def test_database_url_postgres(self):
        config = Env({"DATABASE_URL": "postgres://u:p@db.internal:5433/streamsite"}).database(
            "DATABASE_URL", None
        )
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
            "db.internal",
            5433,
            "streamsite",
            "u",
        )

    def test_database_url_names_a_unix_socket_directory_percent_encoded(self):
        config = Env(
            {"DATABASE_URL": "postgres://u@%2Fvar%2Frun%2Fpostgresql/streamsite"}
        ).database("DATABASE_URL", None)
        # psycopg gets the directory (a host starting with "/" is a socket's), not "%2Fvar...".
        assert (config["HOST"], config["NAME"], config["USER"]) == (
            "/var/run/postgresql",
            "streamsite",
            "u",
        )

    def test_a_socket_directory_keeps_its_case_and_refuses_control_characters(self):
        config = Env({"DATABASE_URL": "postgres://u@%2FRun%2FPG/streamsite"}).database(
            "DATABASE_URL", None
        )
        assert config["HOST"] == "/Run/PG"
        with pytest.raises(ImproperlyConfigured, match="control character"):
            Env({"DATABASE_URL": "postgres://u@%2Frun%00%2Fpg/streamsite"}).database(
                "DATABASE_URL", None
            )

    def test_database_url_without_a_host_says_how_to_name_a_socket(self):
        with pytest.raises(ImproperlyConfigured, match=r"%2Fvar%2Frun%2Fpostgresql"):
            Env({"DATABASE_URL": "postgres:///streamsite"}).database("DATABASE_URL", None)

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mysql://x/y", "DATABASE_URL must be a URL with scheme postgres/postgresql/sqlite"),
            ("postgres://host:notaport/db", "DATABASE_URL has a malformed port"),
            ("postgres:///db", "DATABASE_URL must name a host"),
            ("postgres://host/", "DATABASE_URL must name a database"),
        ],
    )
    def test_database_url_malformed(self, url, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            Env({"DATABASE_URL": url}).database("DATABASE_URL", None)

    def test_redis_url_scheme_checked(self):
        with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a URL with scheme"):
            Env({"REDIS_URL": "localhost:6379"}).url("REDIS_URL", None, schemes=("redis",))


@pytest.mark.django_db
def test_a_socket_url_connects_through_the_servers_socket():
    """End to end: the URL's decoded host reaches PostgreSQL through its Unix socket (where the
    server listens on one on this machine, as on the development and CI machines)."""
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a Unix socket URL is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW unix_socket_directories")
        listed = cursor.fetchone()[0]
    directories = [d.strip() for d in listed.split(",") if d.strip().startswith("/")]
    if not any(Path(d).is_dir() for d in directories):
        pytest.skip("this PostgreSQL server has no Unix socket on this machine")
    directory = next(d for d in directories if Path(d).is_dir())
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{quote(directory, safe='')}/{db['NAME']}"
    config = Env({"DATABASE_URL": url}).database("DATABASE_URL", None)
    assert config["HOST"] == directory
    with psycopg.connect(
        host=config["HOST"], port=db["PORT"] or 5432, dbname=config["NAME"], user=config["USER"]
    ) as conn:
        # No server address: the connection came through the socket, not TCP.
        assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)


def _run_check(settings_module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"
# Production's own signing secrets (independent of GOOD_KEY and of each other).
SIGNING = {
    "CDN_SIGNING_SECRETS": "cdn-Qm9vZ2xlIGlzIG5vdCBhIHNlY3JldCBhdCBhbGwh",
}


class TestStartup:
    def test_malformed_value_fails_startup_with_its_name(self):
        result = _run_check("streamsite.settings.dev", DEBUG="maybe")
        assert result.returncode != 0
        assert "DEBUG must be a boolean" in result.stderr

    def test_production_refuses_to_start_without_secret_key(self):
        result = _run_check("streamsite.settings.production", ALLOWED_HOSTS="example.com")
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr

    def test_production_refuses_debug(self):
        result = _run_check(
            "streamsite.settings.production",
            SECRET_KEY=GOOD_KEY,
            ALLOWED_HOSTS="example.com",
            DEBUG="true",
        )
        assert result.returncode != 0
        assert "DEBUG must be off in production" in result.stderr

    def test_production_deploy_check_is_clean(self):
        clean = {k: v for k, v in os.environ.items() if k != "DEBUG"}
        clean.update(
            DJANGO_SETTINGS_MODULE="streamsite.settings.production",
            SECRET_KEY=GOOD_KEY,
            ALLOWED_HOSTS="streamsite.example",
            BILLING_SANDBOX_WEBHOOK_SECRET="deploy-check-" + "w" * 30,
            **SIGNING,
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert "System check identified no issues" in result.stdout


def _setting(name: str, **env: str) -> str:
    """A setting's value as a process started with `env` (and nothing else set for `name`)
    reads it."""
    clean = {k: v for k, v in os.environ.items() if k != name}
    clean.update(env, DJANGO_SETTINGS_MODULE="streamsite.settings.dev")
    code = f"from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.split()[-1]


def test_the_cdn_health_store_lives_under_the_cache_prefix_unless_told_otherwise():
    # Sites that keep their caches apart keep their edges' health apart too, and
    # `cache_claim --empty` empties it with the cache (streamsite/cache_claim.py).
    assert _setting("CDN_REDIS_PREFIX", CACHE_KEY_PREFIX="site-b") == "site-b:cdn"
    assert _setting("CDN_REDIS_PREFIX", CACHE_KEY_PREFIX="site-b", CDN_REDIS_PREFIX="") == (
        "site-b:cdn"
    )
    assert _setting("CDN_REDIS_PREFIX", CACHE_KEY_PREFIX="site-b", CDN_REDIS_PREFIX="edges") == (
        "edges"
    )
