"""Signed media links compatible with nginx's secure_link_md5, one token per content prefix.

A signed URL looks like

    <base>t/<kid><bind>/<md5>/<expires>/<prefix><file>

where `kid` names the secret (8 hex characters of its SHA-256, so several secrets can verify
during a rotation), `bind` is `a` when the client address is part of the hash and `n` when it is
not, `md5` is the unpadded base64url MD5 of `"<expires><prefix><addr> <secret>"` (exactly what
`secure_link_md5 "$exp$prefix$addr $secret"` computes), and `expires` is a Unix time. The token is
in the path, so playlists that name renditions and segments relatively keep it: one token covers
every file under the prefix.
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
TOKEN_RE = re.compile(
    r"^t/(?P<kid>[0-9a-f]{8})(?P<bind>[an])/(?P<md5>[A-Za-z0-9_-]{22})/(?P<exp>[0-9]{1,12})/"
    r"(?P<prefix>hls/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)(?P<rest>.*)$"
)


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


def sign_prefix(prefix: str, *, expires_at: datetime, client_ip: str | None = None) -> str:
    """The signed path `t/.../<prefix>` to append to an edge base URL; add a file name after it."""
    validate_prefix(prefix)
    secret = secrets()[0]
    expires = int(expires_at.timestamp())
    bind = "a" if client_ip else "n"
    md5 = _digest(expires=expires, prefix=prefix, addr=client_ip or "", secret=secret)
    return f"t/{key_id(secret)}{bind}/{md5}/{expires}/{prefix}"


def signed_url(
    base_url: str,
    prefix: str,
    filename: str = "master.m3u8",
    *,
    expires_at: datetime,
    client_ip: str | None = None,
) -> str:
    return f"{base_url}{sign_prefix(prefix, expires_at=expires_at, client_ip=client_ip)}{filename}"


@dataclass(frozen=True)
class Verified:
    prefix: str
    path: str  # the file, relative to the media root: <prefix><rest>
    expires: int


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
    return Verified(prefix=match["prefix"], path=match["prefix"] + rest, expires=int(match["exp"]))


def nginx_secret_map() -> dict[str, str]:
    """Key id → secret, for the `map` block in the edge configuration."""
    return {key_id(s): s for s in secrets()}
