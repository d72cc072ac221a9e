"""Demo content: the demo viewer gets an active Standard plan, a sandbox card, a paid invoice."""

from __future__ import annotations

from typing import Any

from billing import services
from billing.gateways.sandbox import SandboxGateway
from billing.models import Subscription

VIEWER_EMAIL = "viewer@streamsite.localhost"
VIEWER_PASSWORD = "streamsite-demo"  # noqa: S105 - printed demo credentials


def seed(*, stdout: Any) -> None:
    """Idempotent: an existing subscription for the viewer is left as it is."""
    from accounts.models import User

    viewer, created = User.objects.get_or_create(email=VIEWER_EMAIL)
    if created:
        viewer.set_password(VIEWER_PASSWORD)
        viewer.save(update_fields=["password"])
    if Subscription.objects.filter(account=viewer).exists():
        stdout.write("Billing: the demo viewer already has a subscription.")
        return
    card = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=12, exp_year=2099, cvc="123"
    )
    services.subscription_start(
        account=viewer, plan_code="standard", currency="USD", card_token=card.token, trial=False
    )
    stdout.write(f"Billing: {VIEWER_EMAIL} subscribed to Standard (sandbox Visa •••• 4242).")
