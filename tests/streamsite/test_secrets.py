"""Production refuses signing secrets that are missing, development defaults, or equal to or
derived from SECRET_KEY or from each other (system checks, so `check --deploy` fails)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from streamsite import checks
from tests.streamsite.test_settings import GOOD_KEY, ROOT, SIGNING

CDN = SIGNING["CDN_SIGNING_SECRETS"]
# A rotation: the next secret signs, the older one still verifies (both are checked).
OLDER = "older-UmFuZG9tIGJ5dGVzIGZvciBhIHJvdGF0aW9uIHRlc3Q"


@pytest.fixture
def production(settings):
    settings.PRODUCTION_SECRETS_REQUIRED = True
    settings.SECRET_KEY = GOOD_KEY
    settings.CDN_SIGNING_SECRETS = [CDN, OLDER]
    return settings


def _ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_independent_secrets_pass(production):
    assert checks.signing_secrets() == []


def test_development_does_not_require_them(settings):
    settings.PRODUCTION_SECRETS_REQUIRED = False
    settings.CDN_SIGNING_SECRETS = []
    assert checks.signing_secrets() == []


def test_no_second_signing_key_exists(settings):
    """One signer: the CDN's secrets sign media and the session's master-playlist link."""
    assert not hasattr(settings, "PLAYBACK_SIGNING_KEY")
    assert list(checks.production_secrets()) == ["CDN_SIGNING_SECRETS[0]"]


def test_missing_secrets_are_refused(production):
    production.CDN_SIGNING_SECRETS = []
    assert _ids(checks.signing_secrets()) == ["streamsite.E001"]


@pytest.mark.parametrize(
    "derivation",
    [
        lambda key: key,  # equal
        lambda key: key[:64],  # the old default: a prefix
        lambda key: key[10:40],  # a slice
        lambda key: "cdn-" + key,  # a concatenation
        lambda key: hashlib.sha256(key.encode()).hexdigest(),  # a plain hash
    ],
    ids=["equal", "prefix", "slice", "concatenation", "sha256"],
)
def test_secrets_derived_from_secret_key_are_refused(production, derivation):
    production.CDN_SIGNING_SECRETS = [derivation(GOOD_KEY), CDN, derivation(GOOD_KEY)]
    errors = checks.signing_secrets()
    assert _ids(errors) == ["streamsite.E004", "streamsite.E004", "streamsite.E005"]
    assert [e.msg.split(" ")[0] for e in errors[:2]] == [
        "CDN_SIGNING_SECRETS[0]",
        "CDN_SIGNING_SECRETS[2]",
    ]


def test_secrets_derived_from_each_other_are_refused(production):
    production.CDN_SIGNING_SECRETS = [CDN, CDN[:20] + "-and-some-more-characters"]
    errors = checks.signing_secrets()
    assert _ids(errors) == ["streamsite.E005"]
    assert errors[0].msg == (
        "CDN_SIGNING_SECRETS[0] and CDN_SIGNING_SECRETS[1] are equal or derived from each other."
    )


def test_development_defaults_and_short_values_are_refused(production):
    production.CDN_SIGNING_SECRETS = ["dev-insecure-cdn-signing-secret", "short"]
    assert _ids(checks.signing_secrets()) == ["streamsite.E003", "streamsite.E003"]


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "CDN_SIGNING_SECRETS"}}
    clean.update(
        env,
        DJANGO_SETTINGS_MODULE="streamsite.settings.production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="streamsite.example",
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_deploy_check_fails_without_its_own_secrets():
    result = _deploy_check()
    assert result.returncode != 0
    assert "streamsite.E001" in result.stderr


def test_production_deploy_check_fails_with_a_secret_derived_from_secret_key():
    result = _deploy_check(CDN_SIGNING_SECRETS=GOOD_KEY[:64])
    assert result.returncode != 0
    assert "CDN_SIGNING_SECRETS[0] is equal to or derived from SECRET_KEY" in result.stderr
