"""manage.py import_catalog FILE: titles from a JSON or CSV file (schema in docs/catalog.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog.services.catalog_import import import_catalog
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = "Import titles from a .json or .csv file. Re-running updates instead of duplicating."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")

        def bar(items: Any) -> Any:
            return tqdm(items, file=self.stderr, disable=options["no_progress"], unit="title")

        try:
            report = import_catalog(
                path=path, warn=lambda m: self.stderr.write(self.style.WARNING(m)), progress=bar
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.created} titles created, {report.updated} updated, "
                f"{len(report.skipped)} skipped."
            )
        )
