"""Read the edges' JSON access logs into per-edge, per-minute traffic (cdn.edge_logs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cdn import edge_logs


class Command(BaseCommand):
    help = "Ingest edge access logs from their saved offsets (default: CDN_EDGE_LOG_PATHS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="Access log files (default: the setting)")
        parser.add_argument("--max-bytes", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        paths = options["paths"] or list(settings.CDN_EDGE_LOG_PATHS)
        max_bytes = options["max_bytes"] or settings.CDN_EDGE_LOG_MAX_BYTES
        for result in edge_logs.ingest_logs(paths=paths, max_bytes=max_bytes):
            self.stdout.write(
                f"{result.path}: {result.lines} lines ({result.skipped} skipped), "
                f"{result.bytes_read} bytes"
            )
