"""Settings shared by every environment; every value that varies comes from streamsite.env.

Composed from one module per concern: `project` (Django, the database, cache and broker, sign-in,
languages, files, email, the API, logs), one module per app, and `tasks` (every periodic task and
the queue of each task). What joins them is here: the middleware in its order, the demo seeders
in theirs, and what one app provides to another. dev, test and production start from this.
"""

from __future__ import annotations

from .accounts import *  # noqa: F403
from .billing import *  # noqa: F403
from .catalog import *  # noqa: F403
from .catalog import CATALOG_HOME_ROWS_PROVIDER
from .cdn import *  # noqa: F403
from .media import *  # noqa: F403
from .playback import *  # noqa: F403
from .project import *  # noqa: F403
from .recommendations import *  # noqa: F403
from .staff import *  # noqa: F403
from .tasks import *  # noqa: F403

MIDDLEWARE = [
    # Outermost: counts every answered request for Prometheus, refusals and errors included
    # (streamsite/metrics.py).
    "streamsite.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and the other headers on every response (accounts).
    "accounts.middleware.SecurityHeadersMiddleware",
    # One cache round trip per request for the catalogue version and the auth epoch.
    "streamsite.shared_counters.SharedCountersMiddleware",
    "streamsite.input_boundary.InputBoundaryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the session's user remembered per process (accounts.middleware).
    "accounts.middleware.SessionAuthenticationMiddleware",
    # Every request's user and address are known to audit.services.record (after auth).
    "audit.context.AuditContextMiddleware",
    # Before the language: its profile lookup is a request's first read of the shared counters,
    # which the last-seen gate rides along with; it writes after the view has answered.
    "accounts.middleware.DeviceSessionMiddleware",
    # The signed-in home page and its stamps ride along with that same read (catalog.home_cache).
    "catalog.home_cache.HomePageRidersMiddleware",
    # The viewer's language, once per request (profile, else account, else Accept-Language):
    # after authentication, so the profile and account are known, before the error pages render.
    "accounts.middleware.ViewerLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "streamsite.middleware.DomainErrorMiddleware",
]

# `manage.py seed_demo` runs each fn(*, stdout) in turn. Billing first: the demo viewer needs
# its plan before accounts adds its profiles; recommendations last, from the demo history.
DEMO_SEEDERS = [
    "billing.demo.seed",
    "accounts.demo.seed",
    "catalog.demo.seed",
    "media.demo.seed",
    "playback.demo.seed",
    "recommendations.demo.seed",
]

# --- What one app provides to another --------------------------------------------------------
# A profile limit from the account's plan.
ACCOUNTS_PROFILE_LIMIT_PROVIDER = "billing.entitlements.profile_limit"
# The catalogue home page's personal rows (fn(profile) -> list of rows)...
CATALOG_HOME_ROWS_PROVIDER = CATALOG_HOME_ROWS_PROVIDER or "recommendations.rows.rows_for_profile"
# ...and what its cached copy is stamped with: what those rows are built from.
CATALOG_HOME_STAMP_PROVIDER = "recommendations.rows_cache.home_stamp_keys"
