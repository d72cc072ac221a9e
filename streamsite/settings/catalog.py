"""Catalog: the country of signed-out visitors, the page cache, and what other apps provide
to catalogue pages (the player link, the viewer's activity, the home rows)."""

from __future__ import annotations

from .project import env

# Dotted path to fn(request) -> ISO country for signed-out visitors (GeoIP); empty: DEFAULT_COUNTRY.
CATALOG_COUNTRY_RESOLVER = env.str("CATALOG_COUNTRY_RESOLVER", "")
# Shared catalogue fragments and API bodies live this long in the cache at most (catalog.caching;
# any catalogue write invalidates them at once). 0 turns the cache off.
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", 300, min=0, max=86400)
# Past that, a fragment is stale for this long more (never past a licensing window's edge): still
# served while one request refreshes it. 0: a fragment past its life is a miss.
CATALOG_STALE_SECONDS = env.int("CATALOG_STALE_SECONDS", 300, min=0, max=86400)
# Dotted path to fn(title, profile) -> URL of the player, or None; empty: "video not yet available".
CATALOG_PLAY_URL_PROVIDER = env.str(
    "CATALOG_PLAY_URL_PROVIDER", "playback.selectors.sessions.play_url"
)
# Dotted paths to the viewer's own activity on catalogue pages (playback's): fn(profile) -> home
# context (continue_watching, my_list); fn(profile, title, *, has_seasons) -> title page context
# (state, resume, next_episode). Empty: the pages show no viewer activity.
CATALOG_HOME_ACTIVITY_PROVIDER = env.str(
    "CATALOG_HOME_ACTIVITY_PROVIDER", "playback.selectors.viewer_state.home_activity"
)
CATALOG_TITLE_ACTIVITY_PROVIDER = env.str(
    "CATALOG_TITLE_ACTIVITY_PROVIDER", "playback.selectors.viewer_state.title_activity"
)
# Dotted path to fn(profile) -> rows (key, label, title_ids, explanation) for the home page
# (base wires recommendations' unless this is set).
CATALOG_HOME_ROWS_PROVIDER = env.str("CATALOG_HOME_ROWS_PROVIDER", "")
# A home row (personal or editorial) with fewer titles than a screenful is dropped.
CATALOG_HOME_ROW_MIN_TITLES = 4
# Dotted path to fn(profile_id) -> cache keys whose values the home rows are built from (the
# rows provider's: recommendations names its rows entry and live model version); the cached
# home page (catalog.home_cache) is stamped with them (base wires recommendations'). Empty: no keys.
CATALOG_HOME_STAMP_PROVIDER = ""
