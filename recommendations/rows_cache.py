"""The rows endpoint's body from one cache round trip.

A profile's rows body is personal, so it is cached per profile, stamped with everything it
was built from: the profile's rows entry (rows.py; recomputed rows change it), the live
model version, the catalogue version (catalog.caching; a title, availability or artwork
change bumps it), and the profile's country and maturity. One `get_many` fetches the body,
the rows entry, and both versions; when the stamp still matches, the stored bytes are the
answer (no query, no serialisation). The live model version is cached too and dropped when
a model is promoted or rolled back (`live_model_changed`: at once, and again when the rows
recomputation that follows the commit starts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from catalog.caching import VERSION_KEY, catalog_version
from catalog.selectors.viewer import viewer_for_profile
from recommendations import rows
from streamsite.conditional import CachedBody, cached_body

if TYPE_CHECKING:
    from accounts.models import Profile

LIVE_KEY = "recs:live-version"
LIVE_SECONDS = 300


def body_key(profile_id: int) -> str:
    return f"recs:rows:body:{profile_id}"


def live_model_changed() -> None:
    cache.delete(LIVE_KEY)


def rows_body(profile: Profile, render: Callable[[Profile], bytes]) -> CachedBody:
    """The profile's rows body: cached when its stamp matches, else rendered and stored."""
    if not settings.CATALOG_CACHE_SECONDS:
        return cached_body(render(profile), "application/json")
    entry_key = rows.cache_key_prefix(profile.pk)
    got = cache.get_many([body_key(profile.pk), entry_key, VERSION_KEY, LIVE_KEY])
    version = got.get(VERSION_KEY) or catalog_version()
    live = got.get(LIVE_KEY)
    if live is None:
        live = rows.live_version_id()
        cache.set(LIVE_KEY, live, LIVE_SECONDS)
    viewer = viewer_for_profile(profile)
    entry: Any = got.get(entry_key)
    fresh_entry = entry is not None and entry.get("version") == live
    stamp = [
        version,
        live,
        viewer.country,
        viewer.max_maturity,
        hashlib.sha256(repr(entry).encode()).hexdigest()[:24] if fresh_entry else None,
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
