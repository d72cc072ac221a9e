"""Signed prefixes: what nginx's secure_link_md5 computes, rotation, expiry, tampering."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from cdn import signing
from streamsite.errors import PermissionDenied, ValidationFailed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXP = NOW + timedelta(hours=2)
PREFIX = "hls/3f2a/v2/"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.CDN_SIGNING_SECRETS = ["new-secret", "old-secret"]


def test_token_is_the_nginx_md5_of_expiry_prefix_address_and_secret():
    path = signing.sign_prefix(PREFIX, expires_at=EXP, client_ip="203.0.113.9")
    expected = (
        base64.urlsafe_b64encode(
            hashlib.md5(
                f"{int(EXP.timestamp())}{PREFIX}203.0.113.9 new-secret".encode(),
                usedforsecurity=False,
            ).digest()
        )
        .decode()
        .rstrip("=")
    )
    kid = hashlib.sha256(b"new-secret").hexdigest()[:8]
    assert path == f"t/{kid}a/{expected}/{int(EXP.timestamp())}/{PREFIX}"


def test_one_token_covers_every_file_under_the_prefix():
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    for name in ("master.m3u8", "720p/index.m3u8", "720p/seg00042.ts"):
        verified = signing.verify_path(path + name, client_ip="198.51.100.1", now=NOW)
        assert verified.path == PREFIX + name


def test_unbound_token_does_not_depend_on_the_client_address():
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    assert signing.verify_path(path + "a.ts", client_ip="10.0.0.1", now=NOW).prefix == PREFIX
    assert signing.verify_path(path + "a.ts", client_ip=None, now=NOW).prefix == PREFIX


def test_address_bound_token_refuses_another_address():
    path = signing.sign_prefix(PREFIX, expires_at=EXP, client_ip="203.0.113.9")
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "a.ts", client_ip="203.0.113.10", now=NOW)
    assert exc.value.code == "bad_token"


def test_old_secret_still_verifies_during_rotation(settings):
    settings.CDN_SIGNING_SECRETS = ["old-secret"]
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    settings.CDN_SIGNING_SECRETS = ["new-secret", "old-secret"]
    assert signing.verify_path(path + "x.ts", client_ip=None, now=NOW).path == PREFIX + "x.ts"
    settings.CDN_SIGNING_SECRETS = ["new-secret"]
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "x.ts", client_ip=None, now=NOW)
    assert exc.value.message == "Unknown signing key."


def test_token_for_one_prefix_does_not_open_another():
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    other = path.replace("hls/3f2a/v2/", "hls/3f2a/v3/")
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(other + "a.ts", client_ip=None, now=NOW)
    assert exc.value.message == "Bad signature."


def test_tampered_expiry_is_refused():
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    exp = str(int(EXP.timestamp()))
    tampered = path.replace(exp, str(int(exp) + 3600))
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(tampered + "a.ts", client_ip=None, now=NOW)
    assert exc.value.code == "bad_token"


def test_expired_token_is_refused_as_expired():
    path = signing.sign_prefix(PREFIX, expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "a.ts", client_ip=None, now=NOW)
    assert exc.value.code == "expired"


@pytest.mark.parametrize("bad", ["hls/a/", "hls/a/b", "/hls/a/b/", "hls/../b/", "dash/a/b/"])
def test_malformed_prefix_is_a_validation_error(bad):
    with pytest.raises(ValidationFailed):
        signing.sign_prefix(bad, expires_at=EXP)


@pytest.mark.parametrize("rest", ["../../etc/passwd", "/etc/passwd", "a/../../b"])
def test_traversal_after_the_prefix_is_refused(rest):
    path = signing.sign_prefix(PREFIX, expires_at=EXP)
    with pytest.raises(PermissionDenied):
        signing.verify_path(path + rest, client_ip=None, now=NOW)


def test_signed_url_joins_base_token_and_file():
    url = signing.signed_url("https://e1.cdn.example/", PREFIX, "master.m3u8", expires_at=EXP)
    assert url.startswith("https://e1.cdn.example/t/")
    assert url.endswith(f"/{int(EXP.timestamp())}/{PREFIX}master.m3u8")
