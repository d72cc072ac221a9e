"""The rows endpoint's body from one cache round trip.

A profile's rows body is personal, so it is cached per profile, stamped with everything it
was built from: the profile's rows entry (rows.py; recomputed rows change it), the live
model version, the catalogue version (catalog.caching; a title, availability or artwork
change bumps it), and the profile's country and maturity. One `get_many` fetches the body,
the rows entry and the live model version (the catalogue version comes with the request's
other shared counters, streamsite.shared_counters); when the stamp still matches, the
stored bytes are the answer (no query, no serialisation). The live model version is cached
too (rows.LIVE_KEY) and dropped when a model is promoted or rolled back
(`live_model_changed`: at once, and again when the rows recomputation that follows the
commit starts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from catalog.caching import catalog_version
from catalog.selectors.viewer import viewer_for_profile
from recommendations import rows
from streamsite.conditional import CachedBody, cached_body

if TYPE_CHECKING:
    from accounts.models import Profile

LIVE_KEY = rows.LIVE_KEY


def body_key(profile_id: int) -> str:
    return f"recs:rows:body:{profile_id}"


def live_model_changed() -> None:
    cache.delete(LIVE_KEY)


def rows_body(profile: Profile, render: Callable[[Profile], bytes]) -> CachedBody:
    """The profile's rows body: cached when its stamp matches, else rendered and stored."""
    if not settings.CATALOG_CACHE_SECONDS:
        return cached_body(render(profile), "application/json")
    entry_key = rows.cache_key_prefix(profile.pk)
    version = catalog_version()  # the request's snapshot of the shared counters
    got = cache.get_many([body_key(profile.pk), entry_key, LIVE_KEY])
    live = rows.cached_live_version_id(got.get(LIVE_KEY))
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
