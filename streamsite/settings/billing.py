"""Billing: the payment gateway, webhooks, trials, retries and grace, idempotency."""

from __future__ import annotations

from .project import env

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
