"""API token format: `ss_` + 43 url-safe random characters; stored as a SHA-256 digest.

A token carries 256 bits of entropy, so a fast hash is enough (no salt or stretching is
needed against guessing), and lookup by digest stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "ss_"  # noqa: S105 - a format marker, not a secret


def generate() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:10]
