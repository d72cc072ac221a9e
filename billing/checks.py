"""System checks for billing settings that only make sense together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


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
