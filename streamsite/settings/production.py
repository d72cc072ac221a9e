"""Production settings: `make up`, gunicorn and Celery. Refuses to start when unsafe."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

if env.bool("DEBUG", False):
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set it to false)")
DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Billing: no development webhook secret in production (billing.E003/E004 stop start-up).
BILLING_SANDBOX_WEBHOOK_SECRET = env.str("BILLING_SANDBOX_WEBHOOK_SECRET", "")

# TLS is terminated by the edge proxy in front of gunicorn.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
# Probes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, min=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# Signing secrets of its own (streamsite.checks refuses missing ones, development defaults and
# values equal to or derived from SECRET_KEY or from each other).
PRODUCTION_SECRETS_REQUIRED = True
CDN_SIGNING_SECRETS = env.list("CDN_SIGNING_SECRETS", [])
