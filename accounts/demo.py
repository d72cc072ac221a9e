"""Demo content: a viewer account with three profiles (one Kids, one PIN-locked)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import Maturity, Profile, User

VIEWER_EMAIL = "viewer@streamsite.localhost"
VIEWER_PASSWORD = "streamsite-demo"  # noqa: S105 - printed demo credentials
DEMO_PIN = "1234"
PROFILES: list[dict[str, Any]] = [
    {"name": "Alex", "maturity": Maturity.ADULTS, "avatar": "ocean"},
    {"name": "Sam", "maturity": Maturity.TEENS, "avatar": "grape"},
    {"name": "Kids", "is_kids": True, "maturity": Maturity.KIDS, "avatar": "sun"},
]


@transaction.atomic
def seed(*, stdout: Any) -> None:
    """Idempotent: reuses the viewer and its profiles when they exist."""
    user = User.objects.filter(email=VIEWER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(VIEWER_EMAIL, VIEWER_PASSWORD)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    for spec in PROFILES:
        if not Profile.objects.filter(account=user, name=spec["name"]).exists():
            services.profile_create(account=user, **spec)
    adult = Profile.objects.get(account=user, name="Alex")
    if not adult.has_pin:
        services.profile_pin_set(
            profile=adult, account=user, password=VIEWER_PASSWORD, pin=DEMO_PIN
        )
    stdout.write(
        f"  viewer sign-in: {VIEWER_EMAIL} / {VIEWER_PASSWORD}  (/login/; profiles Alex "
        f"(PIN {DEMO_PIN}), Sam, Kids)"
    )
