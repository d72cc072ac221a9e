"""Generate a synthetic request trace for the simulator (Zipf, daily cycle, releases, abandons)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cdn.simulator import generate_trace, write_trace


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
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **opts):
        trace = generate_trace(
            requests=opts["requests"],
            titles=opts["titles"],
            regions=opts["regions"],
            days=opts["days"],
            alpha=opts["alpha"],
            new_releases_per_day=opts["new_releases_per_day"],
            seed=opts["seed"],
        )
        n = write_trace(opts["out"], trace)
        self.stdout.write(f"wrote {n} sessions to {opts['out']}")
