"""Train a recommendation model in the foreground, with a progress bar."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from recommendations import services
from recommendations.models import ModelVersion
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = "Train on the Interaction table, evaluate, store the artifact, apply the promotion gate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--algorithm", default=None, help="ease, itemknn, als or popularity")
        parser.add_argument(
            "--params",
            default=None,
            help="JSON hyper-parameters, e.g. '{\"lambda_\": 250}'; omitted: chosen by validation",
        )
        parser.add_argument("--holdout", type=int, default=None, help="most recent N per profile")
        parser.add_argument(
            "--background", action="store_true", help="queue the training on Celery instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        params = None
        if options["params"]:
            try:
                params = json.loads(options["params"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--params is not valid JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise CommandError("--params must be a JSON object")
        if options["holdout"] is not None and options["holdout"] < 1:
            raise CommandError("--holdout must be 1 or more")
        try:
            if options["background"]:
                version = services.training_request(algorithm=options["algorithm"], params=params)
                self.stdout.write(f"queued version #{version.pk}")
                return
            with tqdm(
                total=len(services.TRAINING_STAGES), desc="training", unit="step", file=self.stderr
            ) as bar:

                def progress(stage: str) -> None:
                    # stages advance the bar; anything else (a search trial) is shown beside it
                    bar.set_postfix_str(stage)
                    if stage in services.TRAINING_STAGES:
                        bar.update(1)

                version = services.train(
                    algorithm=options["algorithm"],
                    params=params,
                    holdout=options["holdout"],
                    progress=progress,
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if version.status == ModelVersion.Status.FAILED:
            raise CommandError(f"training failed (version #{version.pk}): {version.error}")
        test = version.metrics["test"]
        self.stdout.write(
            f"version #{version.pk} {version.algorithm} {json.dumps(version.params)}: "
            f"NDCG@10={test['ndcg@10']:.4f} Recall@10={test['recall@10']:.4f} "
            f"MAP@10={test['map@10']:.4f} coverage={test['coverage']:.3f} "
            f"trained in {version.training_seconds:.2f}s"
        )
        self.stdout.write(f"status: {version.status}. {version.decision}")
