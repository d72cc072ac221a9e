"""Verified API tokens remembered in the process, with their users and permissions.

A verified token is kept for API_TOKEN_CACHE_SECONDS together with its user and that user's
permissions, so a busy API client costs no query per request. Any change that could matter (a
token revoked or edited, a user saved, deleted or given other permissions or groups) calls
`auth_changed()`, which bumps an epoch in the shared cache: every process reads the epoch on
each request (one cache read) and drops what it remembered when it moved. With a process-local
cache backend the epoch is per process, so other processes see such changes after at most
API_TOKEN_CACHE_SECONDS.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from accounts.models import ApiToken

EPOCH_KEY = "accounts:auth-epoch"


@dataclass
class _Principal:
    token: ApiToken
    user: Any
    perms: frozenset[str] | None
    until: float
    epoch: Any


class _Remembered:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch: Any = None
        self.by_digest: dict[str, _Principal] = {}


_remembered = _Remembered()


def auth_changed() -> None:
    """Forget remembered tokens here and, through the shared epoch, in every other process.

    Bumped now and again after the surrounding transaction commits, so no process can
    remember the state from before the change.
    """

    def bump() -> None:
        with _remembered.lock:
            _remembered.by_digest.clear()
        try:
            cache.incr(EPOCH_KEY)
        except ValueError:  # no epoch yet
            cache.add(EPOCH_KEY, 1, timeout=None)

    bump()
    transaction.on_commit(bump)


def lookup(digest: str) -> tuple[ApiToken, Any] | None:
    ttl = settings.API_TOKEN_CACHE_SECONDS
    try:
        epoch = cache.get(EPOCH_KEY) if ttl > 0 else None
    except Exception:  # noqa: BLE001 - the shared cache is away: remember nothing meanwhile
        ttl, epoch = 0, None
    if ttl <= 0:
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        return (token, token.user) if token is not None else None
    now = time.monotonic()
    with _remembered.lock:
        if epoch != _remembered.epoch:
            _remembered.by_digest.clear()
            _remembered.epoch = epoch
        hit = _remembered.by_digest.get(digest)
    # A hit read under an older epoch (a change raced its lookup) is looked up again.
    if hit is None or hit.until <= now or hit.epoch != epoch:
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        if token is None:
            return None
        hit = _Principal(
            token=token,
            user=token.user,
            perms=_permissions(token.user),
            until=now + ttl,
            epoch=epoch,
        )
        with _remembered.lock:
            if len(_remembered.by_digest) >= 10_000:
                _remembered.by_digest.clear()
            _remembered.by_digest[digest] = hit
    # Each request gets its own user object, its permission caches filled from memory.
    user = copy.copy(hit.user)
    if hit.perms is not None:  # what ModelBackend.get_all_permissions would compute
        user._perm_cache = set(hit.perms)
    return hit.token, user


def _permissions(user: Any) -> frozenset[str] | None:
    """The user's permissions from its own and its groups' grants, in one query.

    None for superusers and inactive users: Django answers has_perm for them without looking.
    """
    if user.is_superuser or not user.is_active:
        return None
    rows = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    return frozenset(f"{app}.{codename}" for app, codename in rows)
