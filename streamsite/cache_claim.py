"""Which site the shared cache serves: a claim by the database's token, checked by /readyz.

Everything the site caches is keyed by ids that mean rows of its own database: an account's
entitlements, a profile's rows, catalogue fragments under the catalogue's version, the auth
epoch. A second site pointed at the same Redis database with the same CACHE_KEY_PREFIX
(staging beside production, a test run beside a benchmark) would read them as its own: one
site's account 5 given another's plan. So would a site whose database was replaced (restored
elsewhere, recreated) while the cache kept the old one's keys.

Each database names itself with a random token (`DatabaseIdentity`, written the first time it
is asked for). The first site to check writes its token under `CLAIM_KEY` in the cache; a site
that then finds another token there is not ready (`/readyz` fails its cache check, naming the
remedy), so an orchestrator sends it no traffic. `empty_and_claim` (`manage.py cache_claim
--empty`) deletes every key under this site's prefix and claims it afresh, for a database that
took another's place. The claim never expires; an emptied or restarted Redis loses it, and the
next check writes it again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import DatabaseError

from streamsite.models import DatabaseIdentity
from streamsite.redis_keys import unlink_prefix

CLAIM_KEY = "site:database"


class CacheOfAnotherSite(RuntimeError):
    pass


def database_token() -> str:
    """This database's token, written at the first call (one row, id 1, whoever races)."""
    row, _ = DatabaseIdentity.objects.get_or_create(pk=1, defaults={"token": secrets.token_hex(16)})
    return row.token


def check() -> str:
    """Claim the cache for this database's site if nobody has, and raise CacheOfAnotherSite
    when it names another database. A detail for /readyz when the claim could not be checked
    (the database away: its own check says so); "" otherwise."""
    try:
        ours = database_token()
    except DatabaseError:
        return "claim not checked: the database did not answer"
    cache.add(CLAIM_KEY, ours, timeout=None)
    theirs = cache.get(CLAIM_KEY)
    if theirs is not None and theirs != ours:
        raise CacheOfAnotherSite(
            "the cache serves another database's site (its keys under prefix "
            f"{cache.key_prefix!r}): give each site its own CACHE_KEY_PREFIX or Redis database; "
            "if this database took that one's place, run `manage.py cache_claim --empty`"
        )
    return ""


def holder() -> str | None:
    """The token the cache names, or None when nobody has claimed it."""
    value = cache.get(CLAIM_KEY)
    return value if isinstance(value, str) else None


def _redis() -> object | None:
    """The Redis client behind the default cache, or None for a cache of another kind."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    return get_client(None, write=True) if get_client is not None else None


def empty_and_claim(progress: Callable[[int], None] = lambda n: None) -> int:
    """Delete every key under this site's cache prefix, then claim the cache for this
    database; how many keys went. Only this prefix: other sites' keys in the same Redis
    database stay. A cache that is not Redis (this process's memory) is simply cleared."""
    client = _redis()
    deleted = 0
    if client is None:
        cache.clear()
    else:
        deleted = unlink_prefix(client, cache.key_prefix, progress=progress)
    cache.set(CLAIM_KEY, database_token(), timeout=None)
    return deleted
