"""Browser sessions read from the cache, kept in the database (SESSION_ENGINE).

Django's `cached_db` store with three changes, all about ending a session for good:

- **Ended sessions leave a marker, not a gap.** Deleting a session (sign-out, key rotation at
  sign-in, `delete_sessions` for revocation, expiry and account deletion) writes `ENDED` under
  its cache key for SESSION_CACHE_SECONDS, and a session read from the database is put in the
  cache with `add`, never `set`. A request that read the row just before it was deleted cannot
  then put it back in the cache after the delete: its `add` finds the marker. (Django's own
  store deletes the cache key, which such a request would fill again.) A marker reads as an
  empty session with no key, as a missing row does, so the browser gets a fresh session.
- **A cached copy lives at most SESSION_CACHE_SECONDS** (not the session's whole age), so a
  deletion the cache did not hear of (Redis unreachable from the process that deleted it, for
  a moment) is noticed within that bound.
- **The read rides with the request's shared counters** (streamsite.shared_counters): a
  session loaded before the request's first read of the counters is fetched in the same round
  trip, which also brings the auth epoch the session's user is checked against
  (accounts.token_cache.session_user).

Redis down: the cache (streamsite.cache.FailSoftRedisCache) misses and drops writes, so
sessions are read from and written to the database as with the `db` store. Without Redis at
all (the process-local cache of the SQLite default), each process has its own copies, so
another process sees a session end within SESSION_CACHE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.models import Session
from django.db import transaction

from streamsite import shared_counters

KEY_PREFIX = "accounts:session:"
# What an ended session's cache key holds. A dict, so that any reader that does not know the
# marker still sees a session without a user in it.
ENDED = {"accounts:session-ended": 1}


def cache_key(session_key: str) -> str:
    return KEY_PREFIX + session_key


def _ttl(expiry_age: int) -> int:
    return max(1, min(int(expiry_age), settings.SESSION_CACHE_SECONDS))


def _mark_ended(keys: list[str]) -> None:
    from django.core.cache import caches

    if keys:
        timeout = max(1, settings.SESSION_CACHE_SECONDS)
        caches[settings.SESSION_CACHE_ALIAS].set_many(
            {cache_key(k): ENDED for k in keys}, timeout=timeout
        )


def mark_ended(session_keys: Iterable[str]) -> None:
    """The sessions were (or are being) deleted from the database: mark their cached copies
    ended, now and again after the surrounding transaction commits (a request that read a row
    before the commit and cached it meanwhile is overwritten)."""
    keys = [k for k in session_keys if k]
    if not keys:
        return
    _mark_ended(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _mark_ended(keys))


def delete_sessions(session_keys: Iterable[str]) -> int:
    """Delete the sessions' rows and end their cached copies; every path that ends sessions by
    key calls this (revocation, account deletion, expiry). Returns the rows deleted."""
    keys = [k for k in session_keys if k]
    if not keys:
        return 0
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    mark_ended(keys)
    return int(deleted)


class SessionStore(CachedDBStore):
    cache_key_prefix = KEY_PREFIX
    _cache: Any  # set by Django's store (untyped in the stubs)

    def _cached(self) -> Any:
        """The cached copy, fetched with the request's shared counters when they are not read
        yet (one round trip for both)."""
        key = self.cache_key
        if settings.SESSION_CACHE_ALIAS == "default":
            return shared_counters.get_now(key)
        return self._cache.get(key)

    def load(self) -> dict[str, Any]:
        if settings.SESSION_CACHE_SECONDS <= 0:
            return super(CachedDBStore, self).load()
        try:
            data = self._cached()
        except Exception:  # noqa: BLE001 - as Django's store: an invalid key is no session
            data = None
        if data == ENDED:
            self._session_key = None  # as for a missing row: a new key if anything is saved
            return {}
        if data is None:
            row = self._get_session_from_db()  # type: ignore[attr-defined] # untyped in stubs
            if row is None:
                return {}
            data = self.decode(row.session_data)
            self._cache.add(self.cache_key, data, _ttl(self.get_expiry_age(expiry=row.expire_date)))
        return data  # type: ignore[no-any-return]

    def save(self, must_create: bool = False) -> None:
        super(CachedDBStore, self).save(must_create)
        if settings.SESSION_CACHE_SECONDS > 0:
            session = self._session  # type: ignore[attr-defined] # untyped in stubs
            self._cache.set(self.cache_key, session, _ttl(self.get_expiry_age()))

    def delete(self, session_key: str | None = None) -> None:
        super(CachedDBStore, self).delete(session_key)
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            mark_ended([key])

    # Async callers get the same behaviour (the database calls need a thread anyway).
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
