"""System checks for billing settings that only make sense together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

# Webhook secrets that are written down somewhere (our docs, .env examples, tests, the
# development default): whoever reads them can sign events, so production refuses them.
KNOWN_WEBHOOK_SECRETS = frozenset(
    {
        "whsec_sandbox_dev",
        "whsec_double",
        "whsec_test",
        "whsec_example",
        "whsec_xxx",
        "whsec_...",
        "changeme",
        "secret",
    }
)
MIN_WEBHOOK_SECRET_LENGTH = 24


def _webhook_secret_setting() -> str:
    """The setting holding the secret the configured gateway's webhooks are signed with."""
    return (
        "STRIPE_WEBHOOK_SECRET"
        if settings.BILLING_GATEWAY == "stripe"
        else "BILLING_SANDBOX_WEBHOOK_SECRET"
    )


@register("billing")
def stripe_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """BILLING_GATEWAY=stripe needs the secret key (server) and the publishable key (Stripe.js
    on the card pages); without them checkout would fail for every customer."""
    if settings.BILLING_GATEWAY != "stripe":
        return []
    return [
        Error(f"{name} must be set when BILLING_GATEWAY=stripe.", id=f"billing.E00{number}")
        for number, name in enumerate(("STRIPE_SECRET_KEY", "BILLING_STRIPE_PUBLISHABLE_KEY"), 1)
        if not getattr(settings, name)
    ]


@register("billing")
def webhook_secret_set(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Without the configured gateway's webhook secret no event can be verified (production
    settings have no default, so `migrate` at start-up stops here)."""
    name = _webhook_secret_setting()
    if getattr(settings, name):
        return []
    return [
        Error(
            f"{name} must be set (BILLING_GATEWAY={settings.BILLING_GATEWAY}): webhook "
            "signatures are verified with it.",
            id="billing.E003",
        )
    ]


@register("billing", deploy=True)
def webhook_secret_strong(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """In production the webhook secret is the one the gateway issued: not a documented
    default or example, not short, and not another secret of ours."""
    name = _webhook_secret_setting()
    secret = getattr(settings, name)
    if not secret:
        return []  # billing.E003 says so
    if secret in KNOWN_WEBHOOK_SECRETS or len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        return [
            Error(
                f"{name} is a documented default or example, or shorter than "
                f"{MIN_WEBHOOK_SECRET_LENGTH} characters: anyone could sign webhook events.",
                hint="Set the signing secret your payment gateway issued.",
                id="billing.E004",
            )
        ]
    others = {"SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} - {name}
    if any(secret == getattr(settings, other, None) for other in others):
        return [Error(f"{name} must not be the same value as another secret.", id="billing.E005")]
    return []
