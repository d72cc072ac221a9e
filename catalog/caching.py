"""Shared catalogue fragments in the cache, invalidated by a catalogue version.

What the catalogue shows depends on what really varies between viewers: their country, their
maturity ceiling and their language, plus the page asked for. A fragment is cached under
those and stamped with the catalogue *version*, a counter every write to a title, its
availability, artwork, genres, credits, seasons or episodes bumps (catalog.receivers: at once
and after commit), so a change is visible on the next request. A fragment also expires by
itself: after CATALOG_CACHE_SECONDS, and no later than the next licensing window that opens
or closes (time changes what is available without any write). With the cache down every
read is a miss and pages are built from the database (streamsite.cache).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone, translation

if TYPE_CHECKING:  # the selectors use this module
    from catalog.selectors.viewer import Viewer

VERSION_KEY = "catalog:version"
T = TypeVar("T")


def catalog_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet (or the cache is down): start one
        cache.add(VERSION_KEY, 1, timeout=None)


def catalog_changed() -> None:
    """Every cached catalogue fragment is stale: bump the version now (this transaction's own
    reads see the change) and again once it commits (a reader in between may have cached the
    old rows under the first new version)."""
    _bump()
    transaction.on_commit(_bump)


def viewer_parts(viewer: Viewer) -> tuple[str, int, str]:
    """Country, maturity ceiling and language: what a shared fragment varies by. The language
    is the request's active one (accounts.selectors.viewer_language), which pages render in."""
    return (viewer.country, viewer.max_maturity, translation.get_language() or "")


def fragment_key(name: str, viewer: Viewer, *parts: Any) -> str:
    country, maturity, language = viewer_parts(viewer)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f"catalog:frag:{name}:{country}:{maturity}:{language}:{digest}"


def fragment_ttl() -> int:
    """CATALOG_CACHE_SECONDS, or less when a licensing window opens or closes sooner."""
    from catalog.models import Availability

    ttl = int(settings.CATALOG_CACHE_SECONDS)
    now = timezone.now()
    soonest = Availability.objects.filter(Q(starts_at__gt=now) | Q(ends_at__gt=now)).aggregate(
        start=Min("starts_at", filter=Q(starts_at__gt=now)),
        end=Min("ends_at", filter=Q(ends_at__gt=now)),
    )
    for edge in (soonest["start"], soonest["end"]):
        if edge is not None:
            ttl = min(ttl, max(1, int((edge - now).total_seconds()) + 1))
    return ttl


class Uncacheable(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a builder whose result must not be cached; carries the result."""

    def __init__(self, value: Any) -> None:
        super().__init__("not cached")
        self.value = value


def cached_fragment(name: str, viewer: Viewer, parts: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The fragment for this viewer and these parts: from the cache, else built and stored.

    One round trip reads the fragment and the catalogue version together; a fragment stored
    under an older version is a miss (and is overwritten)."""
    if not settings.CATALOG_CACHE_SECONDS:
        try:
            return build()
        except Uncacheable as skip:
            return skip.value  # type: ignore[no-any-return]
    key = fragment_key(name, viewer, *parts)
    got = cache.get_many([VERSION_KEY, key])
    version = got.get(VERSION_KEY)
    if version is None:
        version = catalog_version()
    hit = got.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]  # type: ignore[no-any-return]
    try:
        value = build()
    except Uncacheable as skip:
        return skip.value  # type: ignore[no-any-return]
    cache.set(key, (version, value), timeout=fragment_ttl())
    return value
