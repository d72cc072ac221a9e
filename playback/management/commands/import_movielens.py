"""manage.py import_movielens PATH: load a MovieLens directory (ml-100k or ml-latest-small)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from playback.services.movielens import import_movielens
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = "Import a MovieLens directory (ml-100k or ml-latest-small layout). Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_dir():
            raise CommandError(f"{path} is not a directory.")

        def bar(**kwargs: Any) -> Any:
            kwargs.setdefault("unit", "row")
            return tqdm(file=self.stderr, disable=options["no_progress"], **kwargs)

        try:
            report = import_movielens(
                path=path, warn=lambda m: self.stderr.write(self.style.WARNING(m)), progress=bar
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.layout}: {report.titles_created} titles created "
                f"({report.titles_existing} already there), {report.profiles_created} profiles "
                f"created, {report.ratings} ratings, {report.events_created} new viewing events, "
                f"{len(report.skipped)} lines skipped."
            )
        )
