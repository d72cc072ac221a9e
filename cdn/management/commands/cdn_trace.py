"""Write a CDN request trace: synthetic, from the recorded plays, or from a rating dataset."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdn.traces import (
    TraceError,
    generate_workload,
    movie_key,
    movielens_plays,
    movielens_regions,
    site_by_hash,
    trace_from_plays,
    write_catalog,
    write_trace,
)


class Command(BaseCommand):
    help = "Write a CDN request trace (CSV: timestamp,client,content_key,bytes)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--from-activity",
            action="store_true",
            help="one session per recorded steering decision (cdn's own play log), from its site",
        )
        source.add_argument(
            "--from-ratings",
            metavar="PATH",
            help="one session per rating of a MovieLens u.data or ratings.csv, at its timestamp",
        )
        parser.add_argument(
            "--users",
            help="MovieLens u.user: region by zip-code prefix (default: by a hash of the user id)",
        )
        parser.add_argument("--days", type=int, default=3)
        parser.add_argument(
            "--session-bytes",
            type=int,
            default=50_000_000,
            help="bytes each recorded play or rating reads (one simulator chunk by default)",
        )
        parser.add_argument("--requests", type=int, default=20_000)
        parser.add_argument("--titles", type=int, default=2_000)
        parser.add_argument("--regions", type=int, default=4)
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
        if opts["from_activity"]:
            return self.from_activity(opts)
        if opts["from_ratings"]:
            return self.from_ratings(opts)
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

    def from_activity(self, opts):
        """The steering decisions of the last `--days` (every play a viewer started through
        `cdn.steering.steer`), each from the site it was located to: replay with
        `cdn_simulate --topology db`."""
        from cdn.selectors import recorded_sessions

        since = timezone.now() - timedelta(days=opts["days"])
        plays = list(recorded_sessions(since=since))
        if not plays:
            raise CommandError(
                f"No recorded plays since {since:%Y-%m-%d %H:%M} UTC "
                "(CDN_RECORD_DECISIONS records them)."
            )
        trace = trace_from_plays(
            ((ts, site, key) for ts, site, key in plays),
            region_of=lambda site: site,
            nbytes=opts["session_bytes"],
        )
        n = write_trace(opts["out"], trace)
        self.stdout.write(f"wrote {n} sessions to {opts['out']}")

    def from_ratings(self, opts):
        regions = [f"r{i}" for i in range(opts["regions"])]
        try:
            plays = movielens_plays(opts["from_ratings"])
            if opts["users"]:
                by_user = movielens_regions(opts["users"], regions)
                missing = sorted({u for _, u, _ in plays} - set(by_user))
                if missing:
                    raise CommandError(f"Users missing from {opts['users']}: {missing[:5]}")
                region_of = by_user.__getitem__
            else:
                pick = site_by_hash(regions)
                region_of = lambda user: pick("user:" + user)  # noqa: E731
        except (OSError, TraceError) as exc:
            raise CommandError(f"Cannot read the ratings: {exc}") from None
        trace = trace_from_plays(
            plays, region_of=region_of, nbytes=opts["session_bytes"], key_of=movie_key
        )
        n = write_trace(opts["out"], trace)
        self.stdout.write(
            f"wrote {n} sessions from {len(regions)} regions to {opts['out']} "
            f"(replay with cdn_simulate --regions {len(regions)} --edges-per-site 1)"
        )
