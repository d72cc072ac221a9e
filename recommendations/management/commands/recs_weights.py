"""Choose interaction weights by validation on the Interaction table; prints the trials."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations import activity, selectors, weights


class Command(BaseCommand):
    help = (
        "Validate the interaction weights (completed view, partial view, thumbs up, thumbs "
        "down, My List) on a time-ordered split: each profile's newest watched titles are the "
        "target; one signal at a time over a small grid; NDCG@10 of the reference model decides."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--holdout", type=int, default=3, help="newest N watched per profile")
        parser.add_argument("--algorithm", default="ease", help="the reference model")
        parser.add_argument(
            "--params", default='{"lambda_": 100.0}', help="its hyper-parameters, JSON"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["holdout"] < 1:
            raise CommandError("--holdout must be 1 or more")
        try:
            params = json.loads(options["params"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        activity.fold_pending()
        signals, _profiles, _titles = selectors.interaction_signals()
        if signals.users.size == 0:
            raise CommandError("No interactions yet: import or fold some activity first.")
        result = weights.validate(
            signals,
            holdout=options["holdout"],
            algorithm=options["algorithm"],
            params=params,
            progress=lambda line: self.stderr.write(line),
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "best": result.best.as_dict(),
                        "current": weights.DEFAULT.as_dict(),
                        "not_judged": result.not_judged,
                        "trials": result.trials,
                    },
                    indent=2,
                )
            )
            return
        self.stdout.write("| " + " | ".join(weights.SIGNALS) + " | NDCG@10 |")
        self.stdout.write("| " + " | ".join("---:" for _ in weights.SIGNALS) + " | ---: |")
        for t in result.trials:
            w = t["weights"]
            cells = ["filter" if w[n] is None else f"{w[n]:g}" for n in weights.SIGNALS]
            self.stdout.write(f"| {' | '.join(cells)} | {t['ndcg@10']:.4f} |")
        self.stdout.write(f"best: {json.dumps(result.best.as_dict())}")
        self.stdout.write(f"current: {json.dumps(weights.DEFAULT.as_dict())}")
        if result.not_judged:
            self.stdout.write(
                "not judged (no row carries them; current weight kept): "
                + ", ".join(result.not_judged)
            )
