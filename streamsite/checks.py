"""System checks for settings that only make sense together: signing secrets and proxies,
Celery queues and their time limits.

Production must hold its own signing secrets: a secret equal to or derived from SECRET_KEY
would hand SECRET_KEY (sessions, password-reset tokens) to every edge server that verifies
media links, and a secret derived from another one falls with it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

# A shared run of this many characters counts as "derived" (slices, prefixes, concatenations).
SHARED_RUN = 16
# Development defaults start with this; production refuses them.
DEV_PREFIX = "dev-insecure-"
MIN_SECRET_LENGTH = 32


def _plain_hashes(value: str) -> set[str]:
    found = set()
    for name in ("md5", "sha1", "sha256", "sha512"):
        digest = hashlib.new(name, value.encode()).digest()
        found |= {
            digest.hex(),
            base64.b64encode(digest).decode(),
            base64.urlsafe_b64encode(digest).decode(),
        }
        found |= {s.rstrip("=") for s in list(found)}
    return found


def derived(secret: str, other: str) -> bool:
    """Whether `secret` is `other`, shares a long run of characters with it (a slice, a prefix,
    a concatenation) or is a plain hash of it. Keyed derivations cannot be recognised; the docs
    ask for independent random values."""
    if not secret or not other:
        return False
    if secret == other:
        return True
    short, long_ = sorted((secret, other), key=len)
    run = min(SHARED_RUN, len(short))
    if any(short[i : i + run] in long_ for i in range(len(short) - run + 1)):
        return True
    return secret in _plain_hashes(other) or other in _plain_hashes(secret)


def production_secrets() -> dict[str, str]:
    """The signing secrets production needs, by a name for messages."""
    named = {
        f"CDN_SIGNING_SECRETS[{i}]": str(s)
        for i, s in enumerate(getattr(settings, "CDN_SIGNING_SECRETS", []) or [])
    }
    return named


@register("security", deploy=False)
def signing_secrets(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if not getattr(settings, "PRODUCTION_SECRETS_REQUIRED", False):
        return []
    errors: list[Error] = []
    if not [s for s in getattr(settings, "CDN_SIGNING_SECRETS", []) or [] if str(s).strip()]:
        errors.append(
            Error(
                "CDN_SIGNING_SECRETS must be set in production (its own random value).",
                id="streamsite.E001",
            )
        )
    named = production_secrets()
    secret_key = str(settings.SECRET_KEY)
    items = [(name, value) for name, value in named.items() if value]
    for name, value in items:
        if derived(value, secret_key):
            errors.append(
                Error(
                    f"{name} is equal to or derived from SECRET_KEY; generate its own value.",
                    id="streamsite.E004",
                )
            )
        elif value.startswith(DEV_PREFIX) or len(value) < MIN_SECRET_LENGTH:
            errors.append(
                Error(
                    f"{name} must be at least {MIN_SECRET_LENGTH} random characters, not a "
                    "development default.",
                    id="streamsite.E003",
                )
            )
    for i, (name, value) in enumerate(items):
        for other_name, other in items[i + 1 :]:
            if derived(value, other):
                errors.append(
                    Error(
                        f"{name} and {other_name} are equal or derived from each other.",
                        id="streamsite.E005",
                    )
                )
    return errors


@register("security")
def trusted_proxies(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from streamsite.client_address import trusted_networks

    try:
        trusted_networks()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="streamsite.E006")]
    return []


@register("celery")
def queue_time_limits(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every routed queue has limits, each soft limit comes before its hard one (so a task can
    clean up), and the broker waits for the longest hard limit before redelivering (else a
    running task would be handed to a second worker)."""
    limits: dict[str, tuple[int, int]] = settings.CELERY_QUEUE_TIME_LIMITS
    errors = []
    queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    for queue in sorted(queues | {settings.CELERY_TASK_DEFAULT_QUEUE}):
        if queue not in limits:
            errors.append(
                Error(
                    f"Queue {queue!r} has no entry in CELERY_QUEUE_TIME_LIMITS.", id="celery.E001"
                )
            )
    for queue, (soft, hard) in sorted(limits.items()):
        if soft >= hard:
            errors.append(
                Error(
                    f"Queue {queue!r}: the soft time limit ({soft} s) must be below the hard "
                    f"one ({hard} s).",
                    id="celery.E002",
                )
            )
    longest = max((hard for _soft, hard in limits.values()), default=0)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is not None and visibility <= longest:
        errors.append(
            Error(
                f"The broker's visibility timeout ({visibility} s) must outlast the longest hard "
                f"time limit ({longest} s).",
                id="celery.E003",
            )
        )
    return errors
