"""Rebuild the Interaction table from all viewing activity (after an import or for the demo)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import Profile
from recommendations import activity


class Command(BaseCommand):
    help = "Recompute every profile's interactions from viewing activity (one-shot, in batches)."

    def handle(self, *args: Any, **options: Any) -> None:
        from tqdm import tqdm

        with tqdm(total=Profile.objects.count(), desc="profiles", file=sys.stderr) as bar:
            written = activity.rebuild_all(progress=bar.update)
        self.stdout.write(f"Wrote {written} interactions.")
