"""Accounts: sign-in and its limits, profiles, API tokens, account emails, security headers."""

from __future__ import annotations

from .project import env

ACCOUNTS_MAX_PROFILES = env.int("ACCOUNTS_MAX_PROFILES", 5, min=1, max=20)
# Dotted path to fn(account) -> int giving the plan's profile limit (base wires billing's);
# None: ACCOUNTS_MAX_PROFILES.
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
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
