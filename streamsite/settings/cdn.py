"""CDN: signed media links, steering and edge health, decisions, warming, the edges' logs and the
per-edge mode (docs/cdn.md)."""

from __future__ import annotations

from .project import CACHE_KEY_PREFIX, MEDIA_URL, REDIS_URL, env

# Secrets for signed media links: comma-separated, the first signs, every one verifies. The
# default is for development only: production requires its own value (streamsite.checks).
CDN_SIGNING_SECRETS = env.list("CDN_SIGNING_SECRETS", ["dev-insecure-cdn-signing-secret"])
# Where viewers go when no edge can serve them (and the only URL when no edges exist).
CDN_ORIGIN_URL = env.str("CDN_ORIGIN_URL", MEDIA_URL)
# Django serves signed media itself under MEDIA_URL (development, make demo, tests); production
# leaves media to nginx (the origin and edges that cdn_nginx_config renders).
CDN_SERVE_MEDIA = env.bool(
    "CDN_SERVE_MEDIA", not env.str("DJANGO_SETTINGS_MODULE", "").endswith(".production")
)
# Live health and configuration versions; unset: process-local (single-process demo).
CDN_REDIS_URL = env.url("CDN_REDIS_URL", REDIS_URL, schemes=("redis", "rediss"))
# Under the site's own prefix, so two sites on one Redis database that keep their caches apart
# keep their edges' health apart too (edges are keyed by id), and `cache_claim --empty`
# empties it with the rest.
CDN_REDIS_PREFIX = env.str("CDN_REDIS_PREFIX", f"{CACHE_KEY_PREFIX}:cdn")
CDN_REFRESH_SECONDS = float(env.str("CDN_REFRESH_SECONDS", "0.25"))
CDN_GEOIP_PATH = env.str("CDN_GEOIP_PATH", "")
CDN_BOUNDED_LOAD = float(env.str("CDN_BOUNDED_LOAD", "1.25"))
CDN_BOUNDED_LOAD_FLOOR = float(env.str("CDN_BOUNDED_LOAD_FLOOR", "0.2"))
CDN_RECORD_DECISIONS = env.bool("CDN_RECORD_DECISIONS", True)
# 1: insert each decision at once; N > 1: buffer and bulk-insert every N or every few seconds.
CDN_DECISION_BATCH = env.int("CDN_DECISION_BATCH", 1, min=1, max=10_000)
CDN_DECISION_FLUSH_SECONDS = float(env.str("CDN_DECISION_FLUSH_SECONDS", "2.0"))
CDN_HEALTH_INTERVAL = float(env.str("CDN_HEALTH_INTERVAL", "1.0"))
CDN_HEALTH_TIMEOUT = float(env.str("CDN_HEALTH_TIMEOUT", "0.5"))
CDN_HEALTH_DOWN_AFTER = env.int("CDN_HEALTH_DOWN_AFTER", 2, min=1)
CDN_HEALTH_UP_AFTER = env.int("CDN_HEALTH_UP_AFTER", 3, min=1)
CDN_DEMAND_PROVIDER = env.str("CDN_DEMAND_PROVIDER", "media.cdn_demand.demand")
CDN_WARM_FILES_PER_RUN = env.int("CDN_WARM_FILES_PER_RUN", 200, min=1)
CDN_WARM_KEYS_PER_SITE = env.int("CDN_WARM_KEYS_PER_SITE", 50, min=0)
# A site whose online edges have a pin list cdn_edge_lists decided at most this many seconds ago
# is warmed from those lists; otherwise from the demand provider. Two hourly runs: one missed or
# late run keeps the lists; 0: never from the lists.
CDN_WARM_PIN_LISTS_MAX_AGE = env.int("CDN_WARM_PIN_LISTS_MAX_AGE", 7200, min=0, max=30 * 86400)
# Decisions older than this are deleted (demand prediction looks back 7 days).
CDN_DECISION_RETENTION_DAYS = env.int("CDN_DECISION_RETENTION_DAYS", 8, min=8)
# The edges' JSON access logs (cdn_nginx_config writes <prefix>/access.log) read by the ingest
# every minute; each run reads at most CDN_EDGE_LOG_MAX_BYTES per file and resumes there.
CDN_EDGE_LOG_PATHS = env.list("CDN_EDGE_LOG_PATHS", [])
CDN_EDGE_LOG_MAX_BYTES = env.int("CDN_EDGE_LOG_MAX_BYTES", 16 * 1024 * 1024, min=4096)
# Per-edge mode (docs/cdn.md): every CDN_EDGE_MODE_EVERY seconds cdn_edge_lists lets each edge
# run pin-only or LRU-only, whichever its replayed arms say hits more; 0: off (the lists as
# before). The arms' size in files: CDN_EDGE_MODE_FILES, or 0 to derive it from the edge's
# cache_bytes and the mean body bytes of its logged lookups.
CDN_EDGE_MODE_EVERY = env.int("CDN_EDGE_MODE_EVERY", 0, min=0)
CDN_EDGE_MODE_FILES = env.int("CDN_EDGE_MODE_FILES", 0, min=0)
# Keep-hot touches (docs/cdn.md): an edge in the per-edge mode's LRU mode, rendered with
# `cdn_nginx_config --touch-allow <the workers' addresses>`, is sent HEAD /_touch/<file> for the
# CDN_EDGE_TOUCH_PERCENT % of its cache it has read most, hourly; 0: off.
CDN_EDGE_TOUCH_PERCENT = env.int("CDN_EDGE_TOUCH_PERCENT", 0, min=0, max=100)
# Where beat writes every edge's lists hourly (cdn.tasks.decide_edge_lists; the files of
# `cdn_edge_lists --out-dir`), which the origin serves to the edges (`cdn_origin_config
# --lists-dir`) and each edge's agent fetches and reloads (`cdn_edge_agent`); empty: off.
CDN_EDGE_LISTS_DIR = env.str("CDN_EDGE_LISTS_DIR", "")
