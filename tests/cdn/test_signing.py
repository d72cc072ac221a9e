"""Signed scopes: what nginx's secure_link_md5 computes, rotation, expiry, tampering, and one
token opening exactly one entry of a content key (a rendition folder or one file)."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from cdn import signing
from streamsite.errors import PermissionDenied, ValidationFailed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXP = NOW + timedelta(hours=2)
PREFIX = "hls/3f2a/v2/"
SCOPE = PREFIX + "720p/"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.CDN_SIGNING_SECRETS = ["new-secret", "old-secret"]


def test_token_is_the_nginx_md5_of_expiry_scope_address_and_secret():
    path = signing.sign_prefix(SCOPE, expires_at=EXP, client_ip="203.0.113.9")
    expected = (
        base64.urlsafe_b64encode(
            hashlib.md5(
                f"{int(EXP.timestamp())}{SCOPE}203.0.113.9 new-secret".encode(),
                usedforsecurity=False,
            ).digest()
        )
        .decode()
        .rstrip("=")
    )
    kid = hashlib.sha256(b"new-secret").hexdigest()[:8]
    assert path == f"t/{kid}a/{expected}/{int(EXP.timestamp())}/{SCOPE}"


def test_one_folder_token_covers_every_file_under_that_folder():
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    for name in ("index.m3u8", "seg00042.ts", "init/0.mp4"):
        verified = signing.verify_path(path + name, client_ip="198.51.100.1", now=NOW)
        assert (verified.path, verified.prefix) == (SCOPE + name, SCOPE)
        assert verified.content_key == PREFIX


@pytest.mark.parametrize(
    "elsewhere", ["1080p/index.m3u8", "1080p/seg00042.ts", "master.m3u8", "720pX/index.m3u8"]
)
def test_a_folder_token_opens_no_other_rendition_nor_the_uncapped_master(elsewhere):
    token = signing.sign_prefix(SCOPE, expires_at=EXP).removesuffix(SCOPE)
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(token + PREFIX + elsewhere, client_ip=None, now=NOW)
    assert exc.value.code == "bad_token"


def test_a_file_token_opens_that_file_only():
    path = signing.sign_path(PREFIX + "trickplay.vtt", expires_at=EXP)
    assert signing.verify_path(path, client_ip=None, now=NOW).path == PREFIX + "trickplay.vtt"
    token = path.removesuffix(PREFIX + "trickplay.vtt")
    for other in ("trickplay.jpg", "master.m3u8", "trickplay.vtt/x"):
        with pytest.raises(PermissionDenied):
            signing.verify_path(token + PREFIX + other, client_ip=None, now=NOW)


def test_sign_path_signs_the_scope_of_the_file():
    assert signing.scope_of(PREFIX + "720p/seg1.ts") == SCOPE
    assert signing.scope_of(PREFIX + "master.m3u8") == PREFIX + "master.m3u8"
    path = signing.sign_path(PREFIX + "720p/seg1.ts", expires_at=EXP)
    assert path == signing.sign_prefix(SCOPE, expires_at=EXP) + "seg1.ts"


def test_unbound_token_does_not_depend_on_the_client_address():
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    assert signing.verify_path(path + "a.ts", client_ip="10.0.0.1", now=NOW).prefix == SCOPE
    assert signing.verify_path(path + "a.ts", client_ip=None, now=NOW).prefix == SCOPE


def test_address_bound_token_refuses_another_address():
    path = signing.sign_prefix(SCOPE, expires_at=EXP, client_ip="203.0.113.9")
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "a.ts", client_ip="203.0.113.10", now=NOW)
    assert exc.value.code == "bad_token"


def test_old_secret_still_verifies_during_rotation(settings):
    settings.CDN_SIGNING_SECRETS = ["old-secret"]
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    settings.CDN_SIGNING_SECRETS = ["new-secret", "old-secret"]
    assert signing.verify_path(path + "x.ts", client_ip=None, now=NOW).path == SCOPE + "x.ts"
    settings.CDN_SIGNING_SECRETS = ["new-secret"]
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "x.ts", client_ip=None, now=NOW)
    assert exc.value.message == "Unknown signing key."


def test_token_for_one_prefix_does_not_open_another():
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    other = path.replace("hls/3f2a/v2/", "hls/3f2a/v3/")
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(other + "a.ts", client_ip=None, now=NOW)
    assert exc.value.message == "Bad signature."


def test_tampered_expiry_is_refused():
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    exp = str(int(EXP.timestamp()))
    tampered = path.replace(exp, str(int(exp) + 3600))
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(tampered + "a.ts", client_ip=None, now=NOW)
    assert exc.value.code == "bad_token"


def test_expired_token_is_refused_as_expired():
    path = signing.sign_prefix(SCOPE, expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(PermissionDenied) as exc:
        signing.verify_path(path + "a.ts", client_ip=None, now=NOW)
    assert exc.value.code == "expired"


@pytest.mark.parametrize(
    "bad",
    ["hls/a/", "hls/a/b", "/hls/a/b/", "hls/../b/", "dash/a/b/", "hls/a/b/", "hls/a/b/720p/x.ts"],
)
def test_malformed_prefix_is_a_validation_error(bad):
    with pytest.raises(ValidationFailed):
        signing.sign_prefix(bad, expires_at=EXP)


@pytest.mark.parametrize("rest", ["../../etc/passwd", "/etc/passwd", "a/../../b"])
def test_traversal_after_the_prefix_is_refused(rest):
    path = signing.sign_prefix(SCOPE, expires_at=EXP)
    with pytest.raises(PermissionDenied):
        signing.verify_path(path + rest, client_ip=None, now=NOW)


def test_signed_url_joins_base_token_and_file():
    url = signing.signed_url("https://e1.cdn.example/", PREFIX, "master.m3u8", expires_at=EXP)
    assert url.startswith("https://e1.cdn.example/t/")
    assert url.endswith(f"/{int(EXP.timestamp())}/{PREFIX}master.m3u8")
    url = signing.signed_url("https://e1.cdn.example/", PREFIX, "720p/s1.ts", expires_at=EXP)
    assert url == "https://e1.cdn.example/" + signing.sign_prefix(SCOPE, expires_at=EXP) + "s1.ts"


def test_a_link_is_signed_by_the_same_scheme_for_its_whole_path():
    path = "session/5d1c0b1e-0000-4000-8000-000000000000/master.m3u8"
    signed = signing.sign_link(path, expires_at=EXP, client_ip="203.0.113.9")
    kid = hashlib.sha256(b"new-secret").hexdigest()[:8]
    md5 = hashlib.md5(
        f"{int(EXP.timestamp())}{path}203.0.113.9 new-secret".encode(), usedforsecurity=False
    ).digest()
    digest = base64.urlsafe_b64encode(md5).decode().rstrip("=")
    assert signed == f"t/{kid}a/{digest}/{int(EXP.timestamp())}/{path}"
    assert signing.verify_link(signed, client_ip="203.0.113.9", now=NOW) == path


def test_a_link_opens_nothing_else_and_media_tokens_are_no_links():
    path = "session/abc/master.m3u8"
    signed = signing.sign_link(path, expires_at=EXP)
    for wrong in (
        signed.replace("session/abc/", "session/abd/"),  # another session
        signed + "x",  # more after the signed path
        signing.sign_path(SCOPE + "index.m3u8", expires_at=EXP),  # a media token
    ):
        with pytest.raises(PermissionDenied):
            signing.verify_link(wrong, client_ip=None, now=NOW)
    with pytest.raises(PermissionDenied) as expired:
        signing.verify_link(signed, client_ip=None, now=EXP + timedelta(seconds=1))
    assert expired.value.code == "expired"
    with pytest.raises(ValidationFailed):
        signing.sign_link("hls/3f2a/v2/master.m3u8", expires_at=EXP)  # media is scoped
