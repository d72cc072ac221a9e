"""Generate a synthetic request trace for the simulator (Zipf, daily cycle, releases, abandons)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cdn.simulator import generate_workload, write_catalog, write_trace


class Command(BaseCommand):
    help = "Write a synthetic CDN request trace (CSV: timestamp,client,content_key,bytes)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--requests", type=int, default=20_000)
        parser.add_argument("--titles", type=int, default=2_000)
        parser.add_argument("--regions", type=int, default=4)
        parser.add_argument("--days", type=int, default=3)
        parser.add_argument("--alpha", type=float, default=0.9, help="Zipf exponent")
        parser.add_argument("--new-releases-per-day", type=int, default=5)
        parser.add_argument(
            "--release-hour", type=int, default=8, help="UTC hour each day's releases go live"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--catalog-out",
            help="also write the catalogue (content_key,bytes,available_from) the warmer may use",
        )

    def handle(self, *args, **opts):
        trace, catalog = generate_workload(
            requests=opts["requests"],
            titles=opts["titles"],
            regions=opts["regions"],
            days=opts["days"],
            alpha=opts["alpha"],
            new_releases_per_day=opts["new_releases_per_day"],
            release_hour=opts["release_hour"],
            seed=opts["seed"],
        )
        n = write_trace(opts["out"], trace)
        self.stdout.write(f"wrote {n} sessions to {opts['out']}")
        if opts["catalog_out"]:
            n = write_catalog(opts["catalog_out"], catalog)
            self.stdout.write(f"wrote {n} catalogue entries to {opts['catalog_out']}")
