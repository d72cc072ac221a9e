"""Signed media links compatible with nginx's secure_link_md5, one token per scope.

A signed URL looks like

    <base>t/<kid><bind>/<md5>/<expires>/<scope><rest>

where `kid` names the secret (8 hex characters of its SHA-256, so several secrets can verify
during a rotation), `bind` is `a` when the client address is part of the hash and `n` when it is
not, `md5` is the unpadded base64url MD5 of `"<expires><scope><addr> <secret>"` (exactly what
`secure_link_md5 "$exp$prefix$addr $secret"` computes), and `expires` is a Unix time.

The scope is one entry of a content key's folder (`hls/<asset>/<version>/`): either a folder
(`.../720p/`, covering its variant playlist and every segment under it, which playlists name
relatively so they keep the token) or a single file at the top (`.../master.m3u8`,
`.../trickplay.vtt`). The path itself says which (SCOPE_PATTERN), for nginx and for
`verify_path` alike. So a token for one rendition never opens another rendition, nor the
uncapped master playlist: a session is given tokens for exactly the entries its plan allows.

The same scheme signs the one link that is not media, a playback session's master playlist
(`sign_link` / `verify_link`, a path such as `session/<id>/master.m3u8` that no `hls/` scope can
be): Streamsite has one signer and one set of secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from streamsite.errors import PermissionDenied, ValidationFailed

PREFIX_RE = re.compile(r"^hls/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/$")
# A content key, then one entry of it: a folder (ends in "/") or a file (ends the path). The
# edge's nginx location uses the same pattern (cdn/templates/cdn/nginx_edge.conf).
SCOPE_PATTERN = r"hls/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/|$)"
SCOPE_RE = re.compile(rf"^(?P<scope>{SCOPE_PATTERN})(?P<rest>.*)$")
_SIGNED = r"^t/(?P<kid>[0-9a-f]{8})(?P<bind>[an])/(?P<md5>[A-Za-z0-9_-]{22})/(?P<exp>[0-9]{1,12})/"
TOKEN_RE = re.compile(rf"{_SIGNED}(?P<prefix>{SCOPE_PATTERN})(?P<rest>.*)$")
# A signed link outside the media tree: the whole path is signed, nothing may follow it.
LINK_PATH_RE = re.compile(r"^(?!hls/)[a-z]+(?:/[A-Za-z0-9_.-]+)+$")
LINK_RE = re.compile(rf"{_SIGNED}(?P<prefix>(?!hls/)[a-z]+(?:/[A-Za-z0-9_.-]+)+)$")


def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def secrets() -> list[str]:
    values = [s.strip() for s in settings.CDN_SIGNING_SECRETS if s.strip()]
    if not values:
        raise ValidationFailed("CDN_SIGNING_SECRETS is empty.")
    return values


def _digest(*, expires: int, prefix: str, addr: str, secret: str) -> str:
    raw = hashlib.md5(f"{expires}{prefix}{addr} {secret}".encode(), usedforsecurity=False)
    return base64.urlsafe_b64encode(raw.digest()).decode().rstrip("=")


def validate_prefix(prefix: str) -> str:
    if not PREFIX_RE.match(prefix) or ".." in prefix.split("/"):
        raise ValidationFailed(
            "A content key looks like hls/<asset>/<version>/.",
            extra={"fields": {"content_key": ["Expected hls/<asset>/<version>/."]}},
        )
    return prefix


def scope_of(path: str) -> str:
    """The scope a file's token is for: its top folder under the content key, or itself."""
    match = SCOPE_RE.match(path)
    if match is None or ".." in path.split("/"):
        raise ValidationFailed(
            "A media path looks like hls/<asset>/<version>/<file or folder/...>.",
            extra={"fields": {"path": ["Expected hls/<asset>/<version>/<entry>."]}},
        )
    return match["scope"]


def sign_prefix(prefix: str, *, expires_at: datetime, client_ip: str | None = None) -> str:
    """The signed path `t/.../<scope>` for one scope (a folder `hls/a/v/720p/`, then add a file
    name after it, or a single file `hls/a/v/master.m3u8`) to append to an edge base URL."""
    if scope_of(prefix) != prefix:
        raise ValidationFailed(
            "Sign one entry of a content key: hls/<asset>/<version>/<folder>/ or .../<file>.",
            extra={"fields": {"content_key": ["Expected hls/<asset>/<version>/<entry>."]}},
        )
    return _token(prefix, expires_at=expires_at, client_ip=client_ip)


def _token(prefix: str, *, expires_at: datetime, client_ip: str | None) -> str:
    secret = secrets()[0]
    expires = int(expires_at.timestamp())
    bind = "a" if client_ip else "n"
    md5 = _digest(expires=expires, prefix=prefix, addr=client_ip or "", secret=secret)
    return f"t/{key_id(secret)}{bind}/{md5}/{expires}/{prefix}"


def sign_link(path: str, *, expires_at: datetime, client_ip: str | None = None) -> str:
    """`t/.../<path>` for a link that is not media (a session's master playlist, served by the
    web app): the whole path is the signed prefix, so the token opens that one path only."""
    if not LINK_PATH_RE.match(path) or ".." in path.split("/"):
        raise ValidationFailed("A signed link is a plain path outside hls/.")
    return _token(path, expires_at=expires_at, client_ip=client_ip)


def sign_path(path: str, *, expires_at: datetime, client_ip: str | None = None) -> str:
    """`t/.../<path>`: a file's path under a token for its scope (see the module docstring)."""
    scope = scope_of(path)
    return sign_prefix(scope, expires_at=expires_at, client_ip=client_ip) + path[len(scope) :]


def signed_url(
    base_url: str,
    prefix: str,
    filename: str = "master.m3u8",
    *,
    expires_at: datetime,
    client_ip: str | None = None,
) -> str:
    """An edge URL of `filename` under content key `prefix`, signed for the file's scope."""
    validate_prefix(prefix)
    return base_url + sign_path(prefix + filename, expires_at=expires_at, client_ip=client_ip)


@dataclass(frozen=True)
class Verified:
    prefix: str  # the scope the token was made for
    path: str  # the file, relative to the media root: <prefix><rest>
    expires: int

    @property
    def content_key(self) -> str:
        """`hls/<asset>/<version>/`: the content the file belongs to."""
        return "/".join(self.prefix.split("/")[:3]) + "/"


def verify_path(path: str, *, client_ip: str | None, now: datetime | None = None) -> Verified:
    """Check a signed path (`t/...`, without the base); raises PermissionDenied as nginx would.

    Tampered or unknown-secret tokens are refused; expired ones carry code `expired` (nginx's
    configuration answers 410 for those, 403 for the rest).
    """
    match = TOKEN_RE.match(path)
    if match is None:
        raise PermissionDenied("Not a signed media path.", code="bad_token")
    rest = match["rest"]
    if ".." in rest.split("/") or rest.startswith("/"):
        raise PermissionDenied("Not a signed media path.", code="bad_token")
    _check(match, client_ip=client_ip, now=now)
    return Verified(prefix=match["prefix"], path=match["prefix"] + rest, expires=int(match["exp"]))


def verify_link(signed: str, *, client_ip: str | None, now: datetime | None = None) -> str:
    """The path a `sign_link` token was made for; PermissionDenied (code `expired` or
    `bad_token`) exactly as `verify_path`."""
    match = LINK_RE.match(signed)
    if match is None or ".." in match["prefix"].split("/"):
        raise PermissionDenied("Not a signed link.", code="bad_token")
    _check(match, client_ip=client_ip, now=now)
    return match["prefix"]


def _check(match: re.Match[str], *, client_ip: str | None, now: datetime | None) -> None:
    by_kid = {key_id(s): s for s in secrets()}
    secret = by_kid.get(match["kid"])
    if secret is None:
        raise PermissionDenied("Unknown signing key.", code="bad_token")
    addr = (client_ip or "") if match["bind"] == "a" else ""
    expected = _digest(expires=int(match["exp"]), prefix=match["prefix"], addr=addr, secret=secret)
    if not hmac.compare_digest(expected, match["md5"]):
        raise PermissionDenied("Bad signature.", code="bad_token")
    now = now or timezone.now()
    if int(match["exp"]) < now.timestamp():
        raise PermissionDenied("This link has expired.", code="expired")


def nginx_secret_map() -> dict[str, str]:
    """Key id → secret, for the `map` block in the edge configuration."""
    return {key_id(s): s for s in secrets()}
