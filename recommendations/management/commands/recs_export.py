"""Export every profile's top-k from the live model as JSON lines, for offline analysis."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import Profile
from catalog.models import ExternalId
from recommendations import rows, selectors

BATCH = 500


class Command(BaseCommand):
    help = (
        "Write one JSON line per profile: its id and external id, and its top-k title ids with "
        "their external ids, from the live model with the home page's filters."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=10, help="titles per profile (1-100)")
        parser.add_argument("--output", default="-", help="file path, or - for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        k = options["k"]
        if not 1 <= k <= 100:
            raise CommandError("--k must be from 1 to 100")
        if selectors.live_model() is None:
            raise CommandError("No live model: train one first (manage.py recs_train).")
        to_file = options["output"] != "-"
        out: Any = open(options["output"], "w") if to_file else self.stdout  # noqa: SIM115
        total = Profile.objects.count()
        written = 0
        try:
            with tqdm(total=total, desc="profiles", unit="profile", file=sys.stderr) as bar:
                last = 0
                while True:
                    batch = list(
                        Profile.objects.filter(pk__gt=last)
                        .select_related("account")
                        .order_by("pk")[:BATCH]
                    )
                    if not batch:
                        break
                    picks = {p.pk: rows.top_picks(p, k=k) for p in batch}
                    external: dict[int, dict[str, str]] = {}
                    wanted = {t for ids in picks.values() for t in ids}
                    for tid, source, value in ExternalId.objects.filter(
                        title_id__in=wanted
                    ).values_list("title_id", "source", "value"):
                        external.setdefault(tid, {})[source] = value
                    for p in batch:
                        line = {
                            "profile_id": p.pk,
                            "profile_external_id": p.external_id,
                            "titles": [
                                {"id": t, "external_ids": external.get(t, {})} for t in picks[p.pk]
                            ],
                        }
                        if to_file:
                            out.write(json.dumps(line, sort_keys=True) + "\n")
                        else:
                            out.write(json.dumps(line, sort_keys=True))
                        written += 1
                    bar.update(len(batch))
                    last = batch[-1].pk
        finally:
            if to_file:
                out.close()
        self.stderr.write(f"Exported {written} profiles (top {k}).")
