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
            default="popularity,itemknn,als:defaults,als,ease,twostage",
            help="comma-separated, from: "
            + ", ".join(sorted(algorithms.ALGORITHMS))
            + "; NAME:defaults uses its default parameters instead of a validation search",
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

        entries = [n.strip() for n in options["algorithms"].split(",") if n.strip()]
        plan: list[tuple[str, bool]] = []
        for entry in entries:
            name, _, flag = entry.partition(":")
            plan.append((name, options["defaults"] or flag == "defaults"))
        unknown = [
            e for e, (n, _d) in zip(entries, plan, strict=True) if n not in algorithms.ALGORITHMS
        ]
        unknown += [e for e in entries if ":" in e and not e.endswith(":defaults")]
        if unknown or not plan:
            raise CommandError(
                f"unknown algorithm(s) {', '.join(unknown) or '(none given)'}; choose from "
                + ", ".join(sorted(algorithms.ALGORITHMS))
            )
        holdout = options["holdout"] or settings.RECS_HOLDOUT
        if holdout < 1:
            raise CommandError("--holdout must be 1 or more")
        td = selectors.training_data()
        if td.data.nnz == 0:
            from recommendations import activity

            if activity.has_activity():
                raise CommandError(
                    "Viewing activity is not folded into interactions yet: run "
                    "manage.py recs_rebuild (or recs_train, which folds it) first."
                )
            raise CommandError("No interactions yet: nothing to evaluate.")
        allowed = selectors.allowed_matrix(td)
        rows: list[evaluation.Row] = []
        # one split for every model: the same held-out interactions for the whole table
        split = evaluation.temporal_split(td.data, holdout=holdout)
        for name, defaults in tqdm(plan, desc="evaluating", unit="model", file=self.stderr):
            rows.append(
                evaluation.evaluate_one(
                    split,
                    name,
                    {} if defaults else None,
                    holdout=holdout,
                    allowed=allowed,
                    label=f"{name} (defaults)" if defaults else name,
                )
            )
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
