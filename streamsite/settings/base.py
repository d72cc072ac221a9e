"""Settings shared by every environment; every value that varies comes from streamsite.env."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from streamsite.env import Env

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.str("STREAMSITE_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", "django-insecure-dev-only-key-never-use-in-production")
DEBUG = env.bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
# Production sets this: signing secrets must then be its own (streamsite.checks).
PRODUCTION_SECRETS_REQUIRED = False

INSTALLED_APPS = [
    # django.contrib.admin with the audited, role-checking site (audit/admin_site.py)
    "audit.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "storages",
    "streamsite",
    "accounts",
    "billing",
    "catalog",
    "media",
    "playback",
    "recommendations",
    "cdn",
    "insights",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # One cache round trip per request for the catalogue version and the auth epoch.
    "streamsite.shared_counters.SharedCountersMiddleware",
    "streamsite.input_boundary.InputBoundaryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the session's user remembered per process (accounts.middleware).
    "accounts.middleware.SessionAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "streamsite.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "streamsite.urls"
WSGI_APPLICATION = "streamsite.wsgi.application"
ASGI_APPLICATION = "streamsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Without DATABASE_URL, the embedded default: a SQLite file under var/. With a postgres URL,
# psycopg 3 with persistent connections (see docs/configuration.md for the measurement).
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'streamsite.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's, with the per-request health check asked of the socket instead of a round trip.
    DATABASES["default"]["ENGINE"] = "streamsite.db.postgresql"
    _pool = env.bool("DATABASE_POOL", False)
    if _pool:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", 2, min=0),
            "max_size": env.int("DATABASE_POOL_MAX", 8, min=1),
            "timeout": 10,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60, min=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # N > 0: server-side binding, each statement prepared by PostgreSQL once it has run N times
    # on a connection (later runs skip parsing and planning); 0: client-side binding, Django's
    # default. Measured on playback start: PostgreSQL's CPU per start 35-50 % less
    # (docs/configuration.md).
    _prepare = env.int("DATABASE_PREPARE_THRESHOLD", 2, min=0)
    if _prepare:
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = _prepare
else:
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Redis and Celery ----------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", None, schemes=("redis", "rediss"))
# Every key this site keeps in Redis starts with it: the cache's (claimed for this database by
# /readyz, streamsite/cache_claim.py) and, unless CDN_REDIS_PREFIX says otherwise, the CDN
# health store's.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "streamsite")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # Redis down means cache misses, not errors (streamsite/cache.py).
            "BACKEND": "streamsite.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a process may answer from its own copy of a key it reads on nearly every request
# (the shared counters, a profile's rows) while Redis tells it of every change to those keys
# (streamsite/near_cache.py; 0: every read goes to Redis). A bound for a lost message only.
CACHE_NEAR_SECONDS = env.int("CACHE_NEAR_SECONDS", 300, min=0, max=86400)

# The production broker is RabbitMQ (amqp://): quorum queues, persistent messages, publisher
# confirms and late acks, so a task survives a broker restart and a killed worker's task returns
# as soon as its connection drops. Redis works too (make demo, tests) but loses its queues on a
# restart unless it runs with AOF `appendfsync always`. See docs/operations.md, "Reliability".
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss", "amqp", "amqps")
)
_BROKER_IS_AMQP = bool(CELERY_BROKER_URL) and CELERY_BROKER_URL.startswith("amqp")
CELERY_RESULT_BACKEND = env.url("CELERY_RESULT_BACKEND", REDIS_URL, schemes=("redis", "rediss"))
# No broker configured: the embedded default runs tasks in-process (still after commit).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
# Results are not the record of work: a task killed after its commit is retried or swept, and its
# row says what happened. Only tasks that opt in (streamsite.ping) store a result.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues by how long their work runs; each task gets its queue's soft/hard time limits
# (streamsite.taskqueues.QueueTimeLimits). default: quick tasks (emails, webhooks, folds);
# batch: periodic batches that page through rows; long: training; transcode: encodes.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 60 * 60, min=1)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 60 * 60 + 300, min=1)
CELERY_QUEUE_TIME_LIMITS: dict[str, tuple[int, int]] = {
    "default": (
        env.int("CELERY_QUICK_SOFT_TIME_LIMIT", 60, min=1),
        env.int("CELERY_QUICK_TIME_LIMIT", 90, min=1),
    ),
    "batch": (
        env.int("CELERY_BATCH_SOFT_TIME_LIMIT", 600, min=1),
        env.int("CELERY_BATCH_TIME_LIMIT", 660, min=1),
    ),
    "long": (CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT),
    "transcode": (CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT),
}
CELERY_TASK_ANNOTATIONS = ["streamsite.taskqueues.QueueTimeLimits"]
# The broker hands an unacknowledged task to another worker only after the longest hard limit
# (Redis: visibility timeout) so a running task is never run twice; a killed worker's task comes
# back at once on RabbitMQ (its connection closes), after this long on Redis.
CELERY_BROKER_ACK_DEADLINE = max(hard for _soft, hard in CELERY_QUEUE_TIME_LIMITS.values()) + 300
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": CELERY_BROKER_ACK_DEADLINE}
if _BROKER_IS_AMQP:
    # Quorum queues are replicated and fsync before confirming; every publish waits for the
    # broker's confirm, so a task .delay() returned for is on disk.
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    # Topic exchanges let countdowns and retry back-offs wait in the broker (Celery's native
    # delayed delivery) instead of in a worker slot; quorum queues cannot hold them otherwise.
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
# A worker that vanished without closing its connection is noticed within two heartbeats.
CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", 30, min=0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {
    "media.tasks.transcode_*": {"queue": "transcode"},
    "media.tasks.media_*": {"queue": "transcode"},
    "recommendations.tasks.train_model": {"queue": "long"},
}
for _batch_task in (
    "billing.tasks.run_renewals",
    "billing.tasks.run_dunning",
    "billing.tasks.retry_deferred_webhooks",
    "billing.tasks.purge_idempotency_keys",
    "accounts.tasks.clear_expired_sessions",
    "cdn.tasks.warm_sites",
    "cdn.tasks.warm_edge_content",
    "cdn.tasks.prune_decisions",
    "playback.tasks.refresh_popularity",
    "recommendations.tasks.fold_activity",
    "recommendations.tasks.precompute_rows",
    "recommendations.tasks.sweep_trainings",
):
    CELERY_TASK_ROUTES[_batch_task] = {"queue": "batch"}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# An outbox email still pending this long after its task message was sent gets another one.
OUTBOX_RESEND_AFTER = env.int("OUTBOX_RESEND_AFTER", 120, min=5)
# Every periodic task is declared here, and nowhere else.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "accounts.clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": crontab(minute=17, hour="*"),
    },
    # API tokens' last uses, noted in Redis by requests (accounts.token_touch).
    "accounts.flush-token-touches": {
        "task": "accounts.tasks.flush_token_touches",
        "schedule": 60.0,
    },
    # The email outbox: what a lost message or a killed worker left unsent goes out again.
    "streamsite.outbox-sweep": {
        "task": "streamsite.tasks.sweep_outbound_email",
        "schedule": 60.0,
    },
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
# Read from the cache, kept in the database; ended sessions are marked ended in the cache
# (accounts.session_store).
SESSION_ENGINE = "accounts.session_store"
# How long a session's cached copy, and a process's memory of a session's user, may live (0:
# every request reads both from the database). Bounds how long a change the cache did not
# hear of (Redis unreachable for a moment) goes unnoticed; otherwise changes apply at once.
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", 30, min=0, max=3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14, min=60)

# --- Proxies: the client address (streamsite.client_address) ------------------------------
# CIDR ranges of the reverse proxies in front (nginx, a load balancer). X-Forwarded-For is
# believed only through these hops; empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", [])
if env.is_set("ACCOUNTS_TRUSTED_PROXIES"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "ACCOUNTS_TRUSTED_PROXIES (a count) is replaced by TRUSTED_PROXIES: the CIDR ranges of "
        "the proxies in front, e.g. TRUSTED_PROXIES=10.0.0.0/8"
    )

# --- I18N -----------------------------------------------------------------------------------
# The viewer's language is chosen once per request by accounts.middleware.ViewerLanguageMiddleware
# (profile, else account, else Accept-Language; docs/i18n.md). One catalogue for the project,
# locale/<lang>/LC_MESSAGES/django.po, compiled by `make install` (docs/i18n.md).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The site's own date formats per language (the short "2 Dec 2026" the pages use); numbers and
# the rest of Django's formats stay Django's. Prices: billing's `money` filter (Babel).
FORMAT_MODULE_PATH = ["streamsite.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Viewers whose country is unknown are treated as being here (ISO 3166-1 alpha-2).
DEFAULT_COUNTRY = env.str("DEFAULT_COUNTRY", "US")

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "/static/"
# The image collects static files at build time outside the (volume-mounted) var dir.
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = env.str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(VAR_DIR / "media")))

MEDIA_STORAGE = env.choice("MEDIA_STORAGE", ("local", "s3"), "local")
if MEDIA_STORAGE == "s3":
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.url("S3_ENDPOINT_URL", None, schemes=("http", "https")),
            "region_name": env.str("S3_REGION", None),
            "access_key": env.str("S3_ACCESS_KEY_ID", None),
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", None),
            "custom_domain": env.str("S3_CUSTOM_DOMAIN", None),
            "querystring_auth": env.bool("S3_QUERYSTRING_AUTH", True),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The input boundary (streamsite.input_boundary): JSON and form bodies at most this many bytes
# (413 beyond; multipart uploads are bounded per part instead) and JSON at most this deep (400).
INPUT_MAX_BODY_BYTES = env.int("INPUT_MAX_BODY_BYTES", 1024 * 1024, min=1024)
INPUT_MAX_JSON_DEPTH = env.int("INPUT_MAX_JSON_DEPTH", 32, min=4, max=512)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Email ----------------------------------------------------------------------------------
_email = env.email("EMAIL_URL", "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
for _key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
    if _email.get(_key):
        globals()[_key] = _email[_key]
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Streamsite <no-reply@streamsite.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "streamsite.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_THROTTLE_CLASSES": [
        "streamsite.api.throttling.AnonRateThrottle",
        "streamsite.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", "60/min"),
        "user": env.str("API_THROTTLE_USER", "600/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "streamsite.api.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "streamsite.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "streamsite.api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Streamsite API",
    "DESCRIPTION": (
        "The REST API of Streamsite. Browsers authenticate with the session cookie; programs "
        "send `Authorization: Bearer <token>` with an API token from the account page."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The boundary's, throttles' and authentication's answers on every operation; the probes.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "streamsite.api.schema.add_boundary_responses",
    ],
}

# --- Logging: structured JSON (or plain text in development) to stdout ----------------------
LOG_LEVEL = env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOG_FORMAT = env.choice("LOG_FORMAT", ("json", "text"), "json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.server": {"level": "INFO"},
    },
}

# --- Demo content: each app appends its seeder (a dotted path to fn(*, stdout)) below,
# in dependency order. `manage.py seed_demo` runs them in turn.
DEMO_SEEDERS: list[str] = []

# --- accounts -------------------------------------------------------------------------------
ACCOUNTS_MAX_PROFILES = env.int("ACCOUNTS_MAX_PROFILES", 5, min=1, max=20)
# Dotted path to fn(account) -> int giving the plan's profile limit (billing sets it).
ACCOUNTS_PROFILE_LIMIT_PROVIDER: str | None = None
# Dotted paths to fn(account) -> dict added to the account's JSON export.
ACCOUNTS_EXPORT_PROVIDERS: list[str] = [
    "billing.account_data.export",
    "playback.account_data.export",
]
# Run before an account is deleted, outside its transaction: fn(account) closes what another
# app holds (billing: subscription canceled, cards detached at the gateway, ledger kept).
ACCOUNTS_ERASE_PROVIDERS: list[str] = ["billing.account_data.erase"]
# Where a new account goes after verifying its address (billing's plan picker later).
ACCOUNTS_SIGNUP_NEXT_URL = env.str("ACCOUNTS_SIGNUP_NEXT_URL", "/profiles/")
# Where picking a profile leads when no page asked for it: the first steps (a plan, then
# onboarding for a new profile, then home).
ACCOUNTS_PROFILE_NEXT_URL = "/start/"
# The absolute base of links in account emails.
ACCOUNTS_SITE_URL = env.str("ACCOUNTS_SITE_URL", "http://127.0.0.1:8000")
ACCOUNTS_EMAIL_LINK_MAX_AGE = env.int("ACCOUNTS_EMAIL_LINK_MAX_AGE", 3 * 24 * 3600, min=60)
# How long a process remembers a verified API token with its user and permissions (0: look
# it up every request). Changes reach other processes at once through the shared cache's epoch.
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", 30, min=0, max=3600)
# The API throttles count in each process and add the counts to Redis in one round trip at
# most this often (streamsite/window_counts.py), instead of a round trip per request; a client
# can pass its limit by what each process serves it in that time (0: every count goes to Redis).
API_THROTTLE_SYNC_MS = env.int("API_THROTTLE_SYNC_MS", 500, min=0, max=10_000)
# How long a PIN verified through the API unlocks a profile for that API token.
ACCOUNTS_PIN_UNLOCK_SECONDS = env.int("ACCOUNTS_PIN_UNLOCK_SECONDS", 12 * 3600, min=60)
# A MaxMind GeoLite2 City database file; unset: no location for devices.
ACCOUNTS_GEOIP_PATH = env.str("ACCOUNTS_GEOIP_PATH", None)
# Failure limits: `limit` failures within `window` seconds lock for `cooloff` seconds.
# Sign-in (docs/accounts.md): per (address, client) progressive delays, doubling from `cooloff`
# up to `max_cooloff`; per address a ceiling that never locks but, once reached, asks a sign-in
# from an unknown device for a second factor or an emailed unlock link.
ACCOUNTS_THROTTLE = {
    "login_pair": {
        "limit": 5,
        "window": 3600,
        "cooloff": 30,
        "progressive": True,
        "max_cooloff": 900,
    },
    "login_account": {"limit": 20, "window": 900, "cooloff": 0, "locks": False},
    "login_ip": {"limit": 20, "window": 900, "cooloff": 900},
    "pin": {"limit": 5, "window": 900, "cooloff": 300},
    "two_factor": {"limit": 5, "window": 900, "cooloff": 300},
}
# Content-Security-Policy on every response (the security-headers middleware adds it).
ACCOUNTS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' blob: https:; connect-src 'self' https:; font-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Path prefixes that need inline scripts (the Swagger UI page): CSP with 'unsafe-inline'.
ACCOUNTS_CSP_RELAXED_PREFIXES = ["/api/docs/"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/profiles/"
LOGOUT_REDIRECT_URL = "/"
MIDDLEWARE.insert(1, "accounts.middleware.SecurityHeadersMiddleware")
# After authentication (the profile and account are known), before the error pages render.
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.SessionAuthenticationMiddleware") + 1,
    "accounts.middleware.ViewerLanguageMiddleware",
)
# Before the language (its profile lookup is a request's first read of the shared counters,
# which the last-seen gate rides along with); it writes after the view has answered.
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.ViewerLanguageMiddleware"),
    "accounts.middleware.DeviceSessionMiddleware",
)
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "accounts.context_processors.viewer"
)
DEMO_SEEDERS.append("accounts.demo.seed")


# --- billing --------------------------------------------------------------------------------
BILLING_GATEWAY = env.choice("BILLING_GATEWAY", ("sandbox", "stripe"), "sandbox")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env.url("STRIPE_API_BASE", "https://api.stripe.com", schemes=("https", "http"))
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", 2, min=0, max=5)
# Handed to Stripe.js in the browser, so only a publishable key (pk_...) is accepted.
BILLING_STRIPE_PUBLISHABLE_KEY = env.str("BILLING_STRIPE_PUBLISHABLE_KEY", "", prefix=("pk_",))
BILLING_SANDBOX_WEBHOOK_SECRET = env.str("BILLING_SANDBOX_WEBHOOK_SECRET", "whsec_sandbox_dev")
BILLING_WEBHOOK_TOLERANCE = env.int("BILLING_WEBHOOK_TOLERANCE", 300, min=1, max=3600)
BILLING_DEFAULT_CURRENCY = env.choice("BILLING_DEFAULT_CURRENCY", ("USD", "EUR", "JPY"), "USD")
BILLING_TRIAL_DAYS = env.int("BILLING_TRIAL_DAYS", 7, min=0, max=365)
# The plan the plan picker preselects for an account without one (by code).
BILLING_RECOMMENDED_PLAN = "standard"
BILLING_RETRY_DAYS = [int(d) for d in env.list("BILLING_RETRY_DAYS", ["1", "3", "5", "7"])]
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", 5, min=0, max=60)
BILLING_TAX_PERCENT = env.str("BILLING_TAX_PERCENT", "0")
BILLING_IDEMPOTENCY_TTL_HOURS = env.int("BILLING_IDEMPOTENCY_TTL_HOURS", 24, min=24)
# How long a request holds its Idempotency-Key before a retry may take over (a crashed worker).
BILLING_IDEMPOTENCY_LEASE_SECONDS = env.int("BILLING_IDEMPOTENCY_LEASE_SECONDS", 120, min=1)
BILLING_PROFILES_WITHOUT_PLAN = env.int("BILLING_PROFILES_WITHOUT_PLAN", 1, min=1)
BILLING_RENEWAL_BATCH = env.int("BILLING_RENEWAL_BATCH", 500, min=1)
ACCOUNTS_PROFILE_LIMIT_PROVIDER = "billing.entitlements.profile_limit"
# Billing seeds first: the demo viewer needs its plan before accounts adds its profiles.
DEMO_SEEDERS.insert(0, "billing.demo.seed")
CELERY_BEAT_SCHEDULE["billing.renewals"] = {
    "task": "billing.tasks.run_renewals",
    "schedule": crontab(minute="*/5"),
}
CELERY_BEAT_SCHEDULE["billing.dunning"] = {
    "task": "billing.tasks.run_dunning",
    "schedule": crontab(minute="2-59/5"),
}
CELERY_BEAT_SCHEDULE["billing.webhooks-sweep"] = {
    "task": "billing.tasks.retry_deferred_webhooks",
    "schedule": crontab(minute="*"),
}
CELERY_BEAT_SCHEDULE["billing.purge-idempotency-keys"] = {
    "task": "billing.tasks.purge_idempotency_keys",
    "schedule": crontab(minute=41, hour="*"),
}


# --- catalog --------------------------------------------------------------------------------
DEMO_SEEDERS.append("catalog.demo.seed")
# Search index upkeep: writes only flag titles; these drain the flag and recount popularity.
CELERY_BEAT_SCHEDULE["catalog.refresh-search-index"] = {
    "task": "catalog.tasks.search.refresh_search_index",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["playback.refresh-popularity"] = {
    "task": "playback.tasks.refresh_popularity",
    "schedule": crontab(minute="*/15"),
}
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
# (recommendations); empty: no extra rows.
CATALOG_HOME_ROWS_PROVIDER = env.str("CATALOG_HOME_ROWS_PROVIDER", "")
# A home row (personal or editorial) with fewer titles than a screenful is dropped.
CATALOG_HOME_ROW_MIN_TITLES = 4
# Dotted path to fn(profile_id) -> cache keys whose values the home rows are built from (the
# rows provider's: recommendations names its rows entry and live model version); the cached
# home page (catalog.home_cache) is stamped with them. Empty: no keys.
CATALOG_HOME_STAMP_PROVIDER = ""
# The signed-in home page and its stamps ride along with the request's first read of the shared
# counters, which the language middleware makes (catalog.home_cache).
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.ViewerLanguageMiddleware"),
    "catalog.home_cache.HomePageRidersMiddleware",
)


# --- media: the pipeline -------------------------------------------------------------------
# ffmpeg binaries: empty means auto-detect (Debian's on PATH, else imageio-ffmpeg's static build;
# quality uses the first one that has libvmaf, else SSIM). See docs/media.md.
MEDIA_FFMPEG_BINARY = env.str("MEDIA_FFMPEG_BINARY", "")
MEDIA_FFPROBE_BINARY = env.str("MEDIA_FFPROBE_BINARY", "")
MEDIA_QUALITY_FFMPEG_BINARY = env.str("MEDIA_QUALITY_FFMPEG_BINARY", "")
MEDIA_LADDER = env.choice("MEDIA_LADDER", ("per_title", "fixed"), "per_title")
MEDIA_SEGMENT_SECONDS = env.int("MEDIA_SEGMENT_SECONDS", 4, min=4, max=6)
MEDIA_X264_PRESET = env.choice(
    "MEDIA_X264_PRESET",
    ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"),
    "veryfast",
)
# Seconds of each rendition compared with the source for the quality report (0: skip).
MEDIA_QUALITY_SAMPLE_SECONDS = env.int("MEDIA_QUALITY_SAMPLE_SECONDS", 10, min=0, max=600)
# A running job writes a heartbeat this often (a thread of its own, whatever step it is in)...
MEDIA_HEARTBEAT_SECONDS = env.int("MEDIA_HEARTBEAT_SECONDS", 10, min=1, max=60)
# ...and one whose heartbeat is older than this has lost its worker. With the sweep every 30 s,
# a killed transcode is requeued at most timeout + 30 s = 90 s after its last heartbeat.
MEDIA_HEARTBEAT_TIMEOUT = env.int("MEDIA_HEARTBEAT_TIMEOUT", 60, min=30)
# Uploads are refused (507) unless the media disk keeps this much free after the file.
MEDIA_FREE_SPACE_RESERVE_MB = env.int("MEDIA_FREE_SPACE_RESERVE_MB", 512, min=0)
# A source file no asset row points to is deleted once older than this (an upload in flight
# writes its file before its row commits).
MEDIA_ORPHAN_GRACE_SECONDS = env.int("MEDIA_ORPHAN_GRACE_SECONDS", 6 * 3600, min=600)
# A job still queued after this long has its message sent again (claims make that harmless).
MEDIA_QUEUED_RESEND_AFTER = env.int("MEDIA_QUEUED_RESEND_AFTER", 3600, min=60)
MEDIA_MAX_ATTEMPTS = env.int("MEDIA_MAX_ATTEMPTS", 3, min=1, max=20)
MEDIA_WORK_DIR = env.str("MEDIA_WORK_DIR", "") or None  # scratch space; default: the system tmp
CELERY_TASK_ROUTES["media.tasks.media_transcode"] = {"queue": "transcode"}
CELERY_TASK_ROUTES["media.tasks.media_delete_prefix"] = {"queue": "default"}
CELERY_TASK_ROUTES["media.tasks.media_sweep_stale"] = {"queue": "default"}
CELERY_TASK_ROUTES["media.tasks.media_sweep_orphans"] = {"queue": "default"}
CELERY_BEAT_SCHEDULE["media.sweep-stale"] = {
    "task": "media.tasks.media_sweep_stale",
    "schedule": 30.0,
}
CELERY_BEAT_SCHEDULE["media.sweep-orphans"] = {
    "task": "media.tasks.media_sweep_orphans",
    "schedule": crontab(minute=41, hour="*"),
}
DEMO_SEEDERS.append("media.demo.seed")


# --- playback -------------------------------------------------------------------------------
# hls.js comes from npm (`make install` runs `npm ci`) and is served as /static/vendor/hls/.
STATICFILES_DIRS.append(("vendor/hls", BASE_DIR / "node_modules" / "hls.js" / "dist"))  # type: ignore[arg-type]
# A lease lives this long after the last heartbeat (players beat every 15 s).
PLAYBACK_LEASE_SECONDS = env.int("PLAYBACK_LEASE_SECONDS", 75, min=20, max=600)
PLAYBACK_HEARTBEAT_SECONDS = env.int("PLAYBACK_HEARTBEAT_SECONDS", 15, min=1, max=30)
# A session's signed master-playlist link expires after this long (each fetch re-checks and
# signs the media afresh; media tokens live one heartbeat interval).
PLAYBACK_URL_TTL_SECONDS = env.int("PLAYBACK_URL_TTL_SECONDS", 6 * 60 * 60, min=60)
# QoE reports a session may send per minute (the player sends one per heartbeat); more are
# dropped without failing the heartbeat.
PLAYBACK_QOE_REPORTS_PER_MINUTE = env.int("PLAYBACK_QOE_REPORTS_PER_MINUTE", 12, min=1, max=600)
DEMO_SEEDERS.append("playback.demo.seed")
CELERY_BEAT_SCHEDULE["playback.flush-positions"] = {
    "task": "playback.tasks.flush_positions",
    "schedule": 10.0,
}


# --- recommendations ------------------------------------------------------------------------
def _recs_fraction(name: str, default: str) -> float:
    raw = env.str(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, got {raw!r}")
    return value


# A new model goes live only if its holdout NDCG@10 beats the live one's by this fraction.
RECS_PROMOTION_MARGIN = _recs_fraction("RECS_PROMOTION_MARGIN", "0.01")
# The algorithm the nightly training fits (hyper-parameters chosen by validation). A two-stage
# model must also beat its own EASE stage, which otherwise goes through the gate itself.
RECS_ALGORITHM = env.choice(
    "RECS_ALGORITHM", ("ease", "itemknn", "als", "popularity", "twostage"), "twostage"
)
# Evaluation holds out each profile's most recent N interactions.
RECS_HOLDOUT = env.int("RECS_HOLDOUT", 3, min=1, max=100)
# Retrain between nightly runs once this many interactions changed since the last training
# started (0: nightly only), but not sooner than RECS_RETRAIN_MIN_MINUTES after it.
RECS_RETRAIN_AFTER = env.int("RECS_RETRAIN_AFTER", 5000, min=0)
RECS_RETRAIN_MIN_MINUTES = env.int("RECS_RETRAIN_MIN_MINUTES", 30, min=1)
# A retrain of the live model's algorithm reuses the live model's validated hyper-parameters
# (no search) until its full search is this many days old (0: search on every training).
RECS_FULL_SEARCH_DAYS = env.int("RECS_FULL_SEARCH_DAYS", 7, min=0)
# Dotted path to fn(profile) -> set of title ids the profile may be shown, or None for all
# published titles. Default: the catalogue's availability + maturity selector.
RECS_ALLOWED_ITEMS_PROVIDER = env.str(
    "RECS_ALLOWED_ITEMS_PROVIDER", "recommendations.rows.allowed_for_profile"
)
# The catalogue home page renders these rows (fn(profile) -> list of rows).
CATALOG_HOME_ROWS_PROVIDER = "recommendations.rows.rows_for_profile"
# ...and stamps its cached page with what those rows are built from.
CATALOG_HOME_STAMP_PROVIDER = "recommendations.rows_cache.home_stamp_keys"
# After catalog's seeders: interactions from the demo history, then a trained live model.
DEMO_SEEDERS.append("recommendations.demo.seed")
CELERY_BEAT_SCHEDULE["recommendations.fold-activity"] = {
    "task": "recommendations.tasks.fold_activity",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["recommendations.train-nightly"] = {
    "task": "recommendations.tasks.train_nightly",
    "schedule": crontab(minute=30, hour=3),
}
CELERY_BEAT_SCHEDULE["recommendations.sweep-trainings"] = {
    "task": "recommendations.tasks.sweep_trainings",
    "schedule": crontab(minute=41, hour="*"),
}


# --- cdn ------------------------------------------------------------------------------------
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
CELERY_BEAT_SCHEDULE["cdn.warm-sites"] = {
    "task": "cdn.tasks.warm_sites",
    "schedule": crontab(minute=5, hour="*"),
}
# Pre-fetches whose message was lost or whose worker died (outside cdn's own block: issue 15).
CELERY_BEAT_SCHEDULE["cdn.sweep-warming"] = {
    "task": "cdn.tasks.sweep_warming",
    "schedule": crontab(minute="*/5"),
}
CELERY_TASK_ROUTES["cdn.tasks.sweep_warming"] = {"queue": "batch"}
CELERY_BEAT_SCHEDULE["cdn.prune-decisions"] = {
    "task": "cdn.tasks.prune_decisions",
    "schedule": crontab(minute=41, hour="*"),
}
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
CELERY_BEAT_SCHEDULE["cdn.ingest-edge-logs"] = {
    "task": "cdn.tasks.ingest_edge_logs",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["cdn.prune-edge-traffic"] = {
    "task": "cdn.tasks.prune_edge_traffic",
    "schedule": crontab(minute=43, hour="*"),
}

# --- insights (the staff dashboard's rollups) -------------------------------------------------
CELERY_BEAT_SCHEDULE["insights.rollup-days"] = {
    "task": "insights.tasks.rollup_days",
    "schedule": crontab(minute="*/5"),
}
CELERY_BEAT_SCHEDULE["insights.sample-streams"] = {
    "task": "insights.tasks.sample_streams",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["insights.record-revenue"] = {
    "task": "insights.tasks.record_revenue",
    "schedule": crontab(minute=7, hour="*"),
}
CELERY_TASK_ROUTES["insights.tasks.rollup_days"] = {"queue": "batch"}
CELERY_TASK_ROUTES["insights.tasks.record_revenue"] = {"queue": "batch"}
CELERY_TASK_ROUTES["cdn.tasks.prune_edge_traffic"] = {"queue": "batch"}
CELERY_TASK_ROUTES["playback.tasks.prune_qoe_minutes"] = {"queue": "batch"}
CELERY_BEAT_SCHEDULE["playback.prune-qoe-minutes"] = {
    "task": "playback.tasks.prune_qoe_minutes",
    "schedule": crontab(minute=47, hour="*"),
}
CELERY_TASK_ROUTES["cdn.tasks.ingest_edge_logs"] = {"queue": "batch"}

# --- staff roles and the audit log ----------------------------------------------------------
# Roles are groups made by a migration (streamsite/roles.py); the matrix is in docs/operations.md.
# The most a Support refund may return, in major units of the invoice's currency (finance
# holds billing.refund_over_limit and is not limited).
STAFF_SUPPORT_REFUND_LIMIT = env.str("STAFF_SUPPORT_REFUND_LIMIT", "50.00")
try:
    if not Decimal(STAFF_SUPPORT_REFUND_LIMIT) >= 0:
        raise InvalidOperation
except InvalidOperation:
    raise ImproperlyConfigured(
        "STAFF_SUPPORT_REFUND_LIMIT must be a non-negative decimal, e.g. 50.00"
    ) from None
# Every request's user and address are known to audit.services.record (after auth).
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.SessionAuthenticationMiddleware") + 1,
    "audit.context.AuditContextMiddleware",
)

# --- deploy ---------------------------------------------------------------------------------
# Outermost (inserted last, so after every app has placed its own): counts every answered
# request for Prometheus, refusals and errors included (streamsite/metrics.py).
MIDDLEWARE.insert(0, "streamsite.metrics.MetricsMiddleware")
