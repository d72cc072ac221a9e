"""Verified API tokens remembered in the process, with their users and permissions; the users
browser sessions sign in as; and the profiles requests act as.

A verified token is kept for API_TOKEN_CACHE_SECONDS together with its user and that user's
permissions (read at the first permission check, as Django would, then kept), so a busy API
client costs no query per request. A profile (`profile_lookup`) is kept the same way, so
naming it (X-Profile-Id, the browser's picked profile) costs none either; a token's first
request reads the profile its X-Profile-Id names in the token's own query. A browser
session's user (`user_lookup`) is kept for SESSION_CACHE_SECONDS. Any change that could matter
(a token revoked or edited, a user saved, deleted or given other permissions or groups, a
profile saved or deleted, a user's sessions revoked or address verified by a queryset update)
calls `auth_changed()`, which bumps an epoch in the shared cache: every process reads the
epoch once per request (with the other shared counters, streamsite.shared_counters) and drops
what it remembered when it moved. With a process-local cache backend the epoch is per
process, so other processes see such changes after at most API_TOKEN_CACHE_SECONDS.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.db.models.base import ModelState

from accounts.models import ApiToken, Profile, User
from streamsite import metrics, prebuilt, shared_counters
from streamsite.db.transactions import CommitHook

# Read with the request's other shared counters, in one round trip (streamsite.shared_counters).
EPOCH_KEY = shared_counters.register("accounts:auth-epoch")
_UNKNOWN = object()  # a remembered token's permissions, before anything asked for them


@dataclass
class _Principal:
    token: ApiToken
    user: Any
    perms: frozenset[str] | object  # _UNKNOWN until first asked
    until: float
    epoch: Any


class _Remembered:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch: Any = None
        self.by_digest: dict[str, _Principal] = {}
        # (profile id, account id) -> (profile or None, until, epoch)
        self.profiles: dict[tuple[int, int], tuple[Profile | None, float, Any]] = {}
        # user id -> (active user, until, epoch)
        self.users: dict[Any, tuple[Any, float, Any]] = {}


_remembered = _Remembered()


def _forget_remembered() -> None:
    with _remembered.lock:
        _remembered.by_digest.clear()
        _remembered.profiles.clear()
        _remembered.users.clear()


def _bump_epoch() -> None:
    _forget_remembered()
    try:
        cache.incr(EPOCH_KEY)
    except ValueError:  # no epoch yet
        cache.add(EPOCH_KEY, 1, timeout=None)
    shared_counters.forget()


_bump_on_commit = CommitHook(_bump_epoch)


def auth_changed() -> None:
    """Forget remembered tokens here and, through the shared epoch, in every other process.

    This process forgets at once. Inside a transaction of the program's the epoch is bumped
    once, when it commits (streamsite.db.transactions.CommitHook: no cache call inside the
    transaction), and until then this thread remembers nothing (`_epoch()` is None for it);
    another process, which cannot see the uncommitted rows, remembers the old ones under the
    old epoch, which the bump retires. Outside a transaction, bumped at once.
    """
    _forget_remembered()
    if not _bump_on_commit.announce():
        _bump_epoch()


def lookup(
    digest: str,
    *,
    profile_id: int | None = None,
    riders: Callable[[ApiToken], None] | None = None,
) -> tuple[ApiToken, Any] | None:
    """The token with this digest and its user (each request its own copy), or None.

    `profile_id`, when the request names a profile (X-Profile-Id), is read in the same query
    when the token is not remembered, and remembered as `profile_lookup` would remember it:
    a token's first request costs one query, not two.

    `riders(token)`, for a token this process does not remember, is called between its query
    and the request's first read of the shared counters, so that what the request will need for
    the token's user rides along with that read (accounts.authentication: the throttle's
    window, the view's reads) instead of a round trip apiece. The epoch
    is then read after the token's row: such a token is remembered only when the epoch read
    is the one this process knew before the query (no change can have raced the row).
    """
    ttl = settings.API_TOKEN_CACHE_SECONDS
    if (
        ttl > 0
        and riders is not None
        and digest not in _remembered.by_digest
        and shared_counters.unsent()
    ):
        metrics.TOKEN_FROM_DATABASE.inc()
        return _first_lookup(digest, profile_id, riders, ttl)
    epoch = _epoch() if ttl > 0 else None
    if epoch is None:  # off, or the shared cache is away: remember nothing meanwhile
        metrics.TOKEN_FROM_DATABASE.inc()
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        return (token, token.user) if token is not None else None
    now = time.monotonic()
    with _remembered.lock:
        _follow(epoch)
        hit = _remembered.by_digest.get(digest)
    # A hit read under an older epoch (a change raced its lookup) is looked up again.
    if hit is not None and hit.until > now and hit.epoch == epoch:
        metrics.TOKEN_FROM_MEMORY.inc()
    else:
        metrics.TOKEN_FROM_DATABASE.inc()
        token = _token_with_profile(digest, profile_id)
        if token is None:
            return None
        hit = _Principal(token=token, user=token.user, perms=_UNKNOWN, until=now + ttl, epoch=epoch)
        _remember(digest, hit, profile_id, now)
    return _principal_for_request(hit)


def _first_lookup(
    digest: str, profile_id: int | None, riders: Callable[[ApiToken], None], ttl: float
) -> tuple[ApiToken, Any] | None:
    known = _remembered.epoch  # read before the row: any later change moves the epoch past it
    token = _token_with_profile(digest, profile_id)
    if token is None:
        return None
    riders(token)
    epoch = _epoch()  # the request's first read, with what rode along
    if epoch is None:  # the shared cache is away: remember nothing meanwhile
        return token, token.user
    now = time.monotonic()
    hit = _Principal(token=token, user=token.user, perms=_UNKNOWN, until=now + ttl, epoch=epoch)
    with _remembered.lock:
        _follow(epoch)
    if epoch == known:
        _remember(digest, hit, profile_id, now)
    return _principal_for_request(hit)


def _remember(digest: str, hit: _Principal, profile_id: int | None, now: float) -> None:
    with _remembered.lock:
        if len(_remembered.by_digest) >= 10_000:
            _remembered.by_digest.clear()
        _remembered.by_digest[digest] = hit
        if profile_id is not None:
            if len(_remembered.profiles) >= 10_000:
                _remembered.profiles.clear()
            found = getattr(hit.token, "named_profile", None)
            _remembered.profiles[(profile_id, int(hit.user.pk))] = (found, hit.until, hit.epoch)


def _principal_for_request(hit: _Principal) -> tuple[ApiToken, Any]:
    # Each request gets its own user object, its permission caches filled from memory.
    user = _own_copy(hit.user)
    if user.is_active and not user.is_superuser:
        # What ModelBackend.get_all_permissions would compute; read at the first question
        # (most API clients never ask one), then remembered with the token.
        user._perm_cache = _RememberedPerms(hit)
    return hit.token, user


def _token_with_profile(digest: str, profile_id: int | None) -> ApiToken | None:
    """The token with its user and, as `named_profile` when `profile_id` names one of the
    user's profiles, that profile: one prebuilt statement (this runs on every token's first
    request, where compiling the ORM's join cost several times what the database spends)."""
    sql = _token_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [profile_id, digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token, at = prebuilt.from_row(ApiToken, row)
    user, at = prebuilt.from_row(User, row, at)
    profile, _ = prebuilt.from_row(Profile, row, at)
    assert isinstance(token, ApiToken) and isinstance(user, User)
    token.user = user  # as select_related leaves it
    if isinstance(profile, Profile):
        profile.account = user  # as profile_lookup's copies carry it
        token.named_profile = profile  # type: ignore[attr-defined]
    return token


@functools.cache
def _token_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {prebuilt.columns(ApiToken, 't')}, {prebuilt.columns(User, 'u')},"  # noqa: S608
        f" {prebuilt.columns(Profile, 'p')}"
        f" FROM {quote(ApiToken._meta.db_table)} t"
        f" INNER JOIN {quote(User._meta.db_table)} u ON u.id = t.user_id"
        f" LEFT OUTER JOIN {quote(Profile._meta.db_table)} p"
        " ON p.account_id = u.id AND p.id = %s"
        " WHERE t.digest = %s"
    )


class _RememberedPerms(AbstractSet[str]):
    """A user's permissions as Django's ModelBackend caches them on the user (`_perm_cache`),
    read from the database at the first question and then kept with the remembered token, so
    the next requests ask none."""

    def __init__(self, principal: _Principal) -> None:
        self._principal = principal

    def _perms(self) -> frozenset[str]:
        perms = self._principal.perms
        if perms is _UNKNOWN:
            perms = self._principal.perms = _permissions(self._principal.user)
        return perms  # type: ignore[return-value]

    def __contains__(self, perm: object) -> bool:
        return perm in self._perms()

    def __iter__(self) -> Iterator[str]:
        return iter(self._perms())

    def __len__(self) -> int:
        return len(self._perms())


def remembered_user_id(digest: str) -> int | None:
    """The user id of a token this process remembers, not yet checked against the epoch: a
    hint for what the request will need (the throttle's counter), never a verdict."""
    hit = _remembered.by_digest.get(digest)
    return int(hit.user.pk) if hit is not None else None


def _epoch() -> Any:
    """The shared epoch, started (from the clock, so never an old value) when missing; None
    when the shared cache is away, or while this thread's transaction has a change to
    authentication waiting for its commit (nothing is remembered meanwhile)."""
    if _bump_on_commit.waiting():
        return None
    try:
        epoch = shared_counters.read(EPOCH_KEY)
        if epoch is None:
            cache.add(EPOCH_KEY, time.time_ns() // 1000, timeout=None)
            shared_counters.forget()
            epoch = shared_counters.read(EPOCH_KEY)
    except Exception:  # noqa: BLE001 - a cache that raises instead of failing soft
        return None
    return epoch


def _follow(epoch: Any) -> None:
    """Forget everything remembered under another epoch (call with the lock held)."""
    if epoch != _remembered.epoch:
        _remembered.by_digest.clear()
        _remembered.profiles.clear()
        _remembered.users.clear()
        _remembered.epoch = epoch


def profile_lookup(profile_id: int, account: Any) -> Profile | None:
    """The account's profile `profile_id` (None when it is not one of the account's), from
    this process's memory while the auth epoch stands, else one query. Each call returns its
    own copy, with `account` set (no query to read it back)."""
    ttl = settings.API_TOKEN_CACHE_SECONDS
    epoch = _epoch() if ttl > 0 else None
    if epoch is None:  # off, or the shared cache is away: remember nothing meanwhile
        profile = Profile.objects.filter(pk=profile_id, account=account).first()
    else:
        key = (int(profile_id), int(account.pk))
        now = time.monotonic()
        with _remembered.lock:
            _follow(epoch)
            hit = _remembered.profiles.get(key)
        if hit is None or hit[1] <= now or hit[2] != epoch:
            found = Profile.objects.filter(pk=profile_id, account=account).first()
            with _remembered.lock:
                if len(_remembered.profiles) >= 10_000:
                    _remembered.profiles.clear()
                _remembered.profiles[key] = (found, now + ttl, epoch)
            hit = (found, 0.0, epoch)
        profile = _own_copy(hit[0]) if hit[0] is not None else None
    if profile is not None:
        profile.account = account
    return profile


def user_lookup(user_id: Any) -> Any:
    """The active user `user_id` (None when there is none, or it is inactive), as Django's
    ModelBackend.get_user answers, from this process's memory while the auth epoch stands, else
    one query. Each call returns its own copy. The caller still verifies the session against
    the user (accounts.middleware.session_user)."""
    ttl = settings.SESSION_CACHE_SECONDS
    epoch = _epoch() if ttl > 0 else None
    if epoch is None:  # off, or the shared cache is away: remember nothing meanwhile
        return ModelBackend().get_user(user_id)
    now = time.monotonic()
    with _remembered.lock:
        _follow(epoch)
        hit = _remembered.users.get(user_id)
    # A hit read under an older epoch (a change raced its lookup) is looked up again.
    if hit is None or hit[1] <= now or hit[2] != epoch:
        user = ModelBackend().get_user(user_id)
        if user is None:
            return None
        with _remembered.lock:
            if len(_remembered.users) >= 10_000:
                _remembered.users.clear()
            _remembered.users[user_id] = (user, now + ttl, epoch)
        hit = (user, 0.0, epoch)
    return _own_copy(hit[0])


def _own_copy(instance: Any) -> Any:
    """A copy of a remembered model instance for one request, as `copy.copy` makes it (its own
    attributes and state, the cache of related objects copied, the related objects shared)
    without the pickling protocol copy.copy goes through: a quarter of the time."""
    clone = object.__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    state = object.__new__(ModelState)
    state.__dict__.update(instance._state.__dict__)
    state.fields_cache = dict(instance._state.fields_cache)
    clone._state = state
    return clone


def _permissions(user: Any) -> frozenset[str]:
    """The user's permissions from its own and its groups' grants, in one query."""
    rows = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    return frozenset(f"{app}.{codename}" for app, codename in rows)
