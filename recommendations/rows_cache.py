"""The rows endpoint's body from one cache round trip.

A profile's rows body is personal, so it is cached per profile, stamped with everything it
was built from: the profile's rows entry (rows.py; recomputed rows change it), the live
model version, the catalogue version (catalog.caching; a title, availability or artwork
change bumps it), and the profile's country and maturity. One `get_many` fetches the body,
the rows entry and the live model version (the catalogue version comes with the request's
other shared counters, streamsite.shared_counters; all of them from this process's near
copies while Redis has not said they changed, streamsite.near_cache); when the stamp still
matches, the stored bytes are the answer (no query, no serialisation). The live model
version is cached too (rows.LIVE_KEY) and dropped when a model is promoted or rolled back
(`live_model_changed`: at once, and again when the rows recomputation that follows the
commit starts).

That `get_many` rides along with the request's first read of the shared counters when the
request names its profile in `X-Profile-Id` (`prefetch`, called before authentication): the
keys of the profile the header names are read then, and used only if that profile is the one
`request_profile` (ownership, PIN) settles on. A cached rows request is one round trip, or
none when the near copies hold all it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from catalog.caching import catalog_version
from catalog.selectors.viewer import viewer_for_profile
from recommendations import rows
from streamsite import near_cache, shared_counters
from streamsite.conditional import CachedBody, cached_body

if TYPE_CHECKING:
    from accounts.models import Profile

LIVE_KEY = near_cache.keep(rows.LIVE_KEY)
# A profile's rows entry (recs:rows:<id>) and body (recs:rows:body:<id>): read on every rows
# request, from this process's copy while Redis has not said they changed, and decoded once
# per copy (`shared`: their readers here, in rows.py and catalog.home_cache only read them).
near_cache.keep("recs:rows:", shared=True)


def body_key(profile_id: int) -> str:
    return f"recs:rows:body:{profile_id}"


def _keys(profile_id: int) -> list[str]:
    return [body_key(profile_id), rows.cache_key_prefix(profile_id), LIVE_KEY]


def prefetch(profile_header: str | None) -> None:
    """Have the rows keys of the profile named by `X-Profile-Id` read with the request's
    shared counters (a hint: nothing is used unless that profile is the request's)."""
    if settings.CATALOG_CACHE_SECONDS and profile_header and profile_header.isdecimal():
        shared_counters.also_get(_keys(int(profile_header)))


def home_stamp_keys(profile_id: int) -> list[str]:
    """CATALOG_HOME_STAMP_PROVIDER: what the profile's home rows are built from (its rows entry
    and the live model version); the catalogue's cached home page is stamped with their values."""
    return [rows.cache_key_prefix(profile_id), LIVE_KEY]


def live_model_changed() -> None:
    cache.delete(LIVE_KEY)


def rows_body(profile: Profile, render: Callable[[Profile], bytes]) -> CachedBody:
    """The profile's rows body: cached when its stamp matches, else rendered and stored."""
    if not settings.CATALOG_CACHE_SECONDS:
        return cached_body(render(profile), "application/json")
    entry_key = rows.cache_key_prefix(profile.pk)
    version = catalog_version()  # the request's snapshot of the shared counters
    got = shared_counters.get_many(_keys(profile.pk))
    live = rows.cached_live_version_id(got.get(LIVE_KEY))
    viewer = viewer_for_profile(profile)
    entry: Any = got.get(entry_key)
    fresh_entry = entry is not None and entry.get("version") == live
    stamp = [
        version,
        live,
        viewer.country,
        viewer.max_maturity,
        (entry.get("digest") or rows.entry_digest(entry)) if fresh_entry else None,
    ]
    hit = got.get(body_key(profile.pk))
    if fresh_entry and hit is not None and hit.get("stamp") == stamp:
        return hit["body"]  # type: ignore[no-any-return]
    body = cached_body(render(profile), "application/json")
    if fresh_entry:  # rendering read the entry that is in the stamp
        cache.set(
            body_key(profile.pk),
            {"stamp": stamp, "body": body},
            timeout=settings.CATALOG_CACHE_SECONDS,
        )
    return body
