"""Evaluate every algorithm side by side on the Interaction table (table or --json)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from recommendations import algorithms, evaluation, selectors


class Command(BaseCommand):
    help = (
        "Temporal holdout (each profile's newest N interactions), full ranking over allowed "
        "titles, seen titles excluded: NDCG@10, Recall@10, MAP@10, coverage, training time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithms",
            default="popularity,itemknn,ease,als",
            help="comma-separated, from: " + ", ".join(sorted(algorithms.ALGORITHMS)),
        )
        parser.add_argument("--holdout", type=int, default=None, help="most recent N per profile")
        parser.add_argument(
            "--defaults",
            action="store_true",
            help="use each algorithm's default parameters instead of a validation search",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        names = [n.strip() for n in options["algorithms"].split(",") if n.strip()]
        unknown = [n for n in names if n not in algorithms.ALGORITHMS]
        if unknown or not names:
            raise CommandError(
                f"unknown algorithm(s) {', '.join(unknown) or '(none given)'}; choose from "
                + ", ".join(sorted(algorithms.ALGORITHMS))
            )
        holdout = options["holdout"] or settings.RECS_HOLDOUT
        if holdout < 1:
            raise CommandError("--holdout must be 1 or more")
        td = selectors.training_data()
        if td.data.nnz == 0:
            raise CommandError("No interactions yet: nothing to evaluate.")
        allowed = selectors.allowed_matrix(td)
        rows: list[evaluation.Row] = []
        for name in tqdm(names, desc="evaluating", unit="model", file=self.stderr):
            _split, got = evaluation.compare(
                td.data,
                [(name, {} if options["defaults"] else None)],
                holdout=holdout,
                allowed=allowed,
            )
            rows.extend(got)
        if options["json"]:
            self.stdout.write(
                evaluation.to_json(
                    rows,
                    holdout=holdout,
                    k=10,
                    profiles=int(td.data.shape[0]),
                    titles=int(td.data.shape[1]),
                    interactions=td.data.nnz,
                )
            )
        else:
            self.stdout.write(
                f"{td.data.shape[0]} profiles x {td.data.shape[1]} titles, "
                f"{td.data.nnz} interactions; holdout: newest {holdout} per profile"
            )
            self.stdout.write(evaluation.format_table(rows))
