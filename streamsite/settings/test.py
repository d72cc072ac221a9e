"""Test settings: the dev settings with fast hashing and tasks run in-process after commit."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# The cache lives in its own Redis database per xdist worker, so clearing it between tests
# (FLUSHDB) never touches the broker's queues or another worker's keys.
if REDIS_URL:
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    _base_db = int(urlsplit(REDIS_URL).path.strip("/") or 0)
    _db = (_base_db + 1 + (int(_worker) if _worker.isdigit() else 0)) % 16
    CACHES["default"]["LOCATION"] = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{_db}"))
LOG_FORMAT = env.choice("LOG_FORMAT", ("json", "text"), "text")
LOGGING["handlers"]["stdout"]["formatter"] = LOG_FORMAT  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Shared catalogue fragments off: tests compare query counts and bodies across catalogue
# changes made inside one uncommitted transaction. tests/streamsite/test_request_caching.py
# turns the cache on and tests it (hits, query counts, invalidation).
CATALOG_CACHE_SECONDS = 0
# Throttle windows counted in Redis at every request: tests count requests and round trips
# exactly. tests/streamsite/test_window_counts.py turns the batches on and tests them.
API_THROTTLE_SYNC_MS = 0
