"""Import a Traffic-Control-style coverage-zone JSON file (replaces the named sites' zones)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cdn.services import coverage_zones_import
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = "Import a coverage-zone JSON file (Traffic Control format)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **opts):
        try:
            data = Path(opts["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc.strerror}") from None
        try:
            result = coverage_zones_import(data=data)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"imported {result['zones']} networks for {result['sites']} sites")
