"""Seed the demo: a staff user with printed credentials, then each app's demo content.

Idempotent: running it again reuses what exists. Apps add their own seeding through
DEMO_SEEDERS (dotted paths to functions taking a `stdout` writer), in dependency order.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from accounts.models import User

DEMO_EMAIL = "admin@streamsite.localhost"
DEMO_PASSWORD = "streamsite-demo"  # noqa: S105 - printed demo credentials


class Command(BaseCommand):
    help = "Create the demo staff user and seed demo content (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            User.objects.create_superuser(DEMO_EMAIL, DEMO_PASSWORD)
            self.stdout.write(self.style.SUCCESS("Created the demo staff user."))
        for dotted in getattr(settings, "DEMO_SEEDERS", []):
            import_string(dotted)(stdout=self.stdout)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready: http://127.0.0.1:8000/"))
        self.stdout.write(f"  staff sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}  (/admin/)")
