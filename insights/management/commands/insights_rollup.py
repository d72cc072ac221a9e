"""Recompute the dashboard's daily rollups for the last N days (a backfill, or after a fix)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from insights import services


class Command(BaseCommand):
    help = "Recompute the dashboard rollups of the last --days days (UTC), today included."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=1, choices=range(1, 367), metavar="1-366")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.now().astimezone(UTC).date()
        for back in range(options["days"] - 1, -1, -1):
            result = services.rollup_day(day=today - timedelta(days=back))
            self.stdout.write(
                f"{result.day}: {result.sessions} sessions, {result.qoe_rows} QoE rows, "
                f"{result.edges} edges"
            )
        services.revenue_record()
