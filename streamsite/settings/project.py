"""The project's own settings: Django, the database, cache and broker, sign-in, client addresses,
languages, files, email, the API and logs. Each app's settings are in the module of its name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
                # The viewer's account and profile on every page.
                "accounts.context_processors.viewer",
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

# --- Cache, Redis and Celery (routes and schedule: `tasks`) ----------------------------------
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
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# An outbox email still pending this long after its task message was sent gets another one.
OUTBOX_RESEND_AFTER = env.int("OUTBOX_RESEND_AFTER", 120, min=5)
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
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [
    BASE_DIR / "static",
    # The player's hls.js comes from npm (`make install` runs `npm ci`): /static/vendor/hls/.
    ("vendor/hls", BASE_DIR / "node_modules" / "hls.js" / "dist"),
]
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
