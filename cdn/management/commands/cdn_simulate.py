"""Replay a request trace through the real steering code and per-edge cache models."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cdn.admission import EdgePolicy
from cdn.nginx import check_min_uses
from cdn.routed_trace import load_balance, route, synthetic_snapshot
from cdn.sim_warming import Warmer
from cdn.simulator import simulate
from cdn.steering import Steerer
from cdn.traces import TraceError, check_clients, read_catalog, read_trace
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = (
        "Simulate a trace: object and byte hit ratio for LRU, S3-FIFO and Belady, "
        "with and without warming, plus load balance."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trace", required=True)
        parser.add_argument(
            "--catalog",
            help="catalogue CSV (sizes, release schedule) the warmer may use, as cdn_trace writes",
        )
        parser.add_argument(
            "--fill-hour", type=float, default=7.0, help="UTC hour of the daily warming fill"
        )
        parser.add_argument(
            "--warm-share",
            type=float,
            default=0.75,
            help="most of each cache one fill may fetch",
        )
        parser.add_argument(
            "--topup-hour",
            type=float,
            help="UTC hour of a second pass re-fetching launch chunks not read yet (e.g. 13)",
        )
        parser.add_argument(
            "--refill",
            action="store_true",
            help="also re-fill catalogue titles by past plays (measured to pollute)",
        )
        parser.add_argument(
            "--topology",
            choices=("synthetic", "db"),
            default="synthetic",
            help="synthetic: regions r0..rN on 10.<i>.0.0/16; db: the configured sites",
        )
        parser.add_argument("--regions", type=int, default=4)
        parser.add_argument("--edges-per-site", type=int, default=3)
        parser.add_argument("--chunk-mb", type=int, default=50)
        parser.add_argument(
            "--sizes", default="1,5,10", help="cache sizes, %% of each edge's working set"
        )
        parser.add_argument("--bounded-load", type=float, default=1.25)
        parser.add_argument(
            "--policies",
            default="nginx,lru,s3fifo,belady",
            help="of nginx (proxy_cache as the edges run it), edge (under cdn.admission's "
            "lists), lru, s3fifo, belady",
        )
        # The `edge` policy as the edges are configured (cdn.admission.EdgePolicy).
        parser.add_argument(
            "--min-uses",
            type=int,
            default=EdgePolicy.min_uses,
            help="the edges' proxy_cache_min_uses in the LRU zone (cdn_nginx_config --min-uses)",
        )
        parser.add_argument(
            "--pin-share",
            type=float,
            default=EdgePolicy.pin_share,
            help="share of each edge's cache its pin zone takes, 0 to 1",
        )
        parser.add_argument(
            "--mode-every",
            type=float,
            default=0.0,
            help="hours between each edge's choice of pin-only or LRU-only (0: never)",
        )

    def handle(self, *args, **opts):
        policies = tuple(p.strip() for p in opts["policies"].split(",") if p.strip())
        if set(policies) - {"nginx", "edge", "lru", "s3fifo", "belady"} or (
            "belady" not in policies
        ):
            raise CommandError(
                "--policies takes nginx, edge, lru, s3fifo and belady (belady always: "
                f"ratios are against it); got {opts['policies']!r}"
            )
        try:
            check_min_uses(opts["min_uses"])  # what the edges' configuration takes
        except DomainError as exc:
            raise CommandError(f"--min-uses: {exc.message}") from None
        if not 0 <= opts["pin_share"] <= 1:
            raise CommandError("--pin-share takes a share of the cache, 0 to 1.")
        if not 0 <= opts["mode_every"] <= 24 * 365:
            raise CommandError("--mode-every takes hours, 0 (never) to a year.")
        edge_policy = EdgePolicy(
            min_uses=opts["min_uses"],
            pin_share=opts["pin_share"],
            mode_every=opts["mode_every"] * 3600,
        )
        try:
            trace = read_trace(opts["trace"])
        except TraceError as exc:
            raise CommandError(f"Cannot replay the trace: {exc}") from None
        if not trace:
            raise CommandError("The trace is empty.")
        catalog = None
        if opts["catalog"]:
            try:
                catalog = read_catalog(opts["catalog"])
            except (OSError, ValueError, IndexError) as exc:
                raise CommandError(f"Cannot read the catalogue: {exc}") from None
        if opts["topology"] == "db":
            from cdn.selectors import snapshot_from_db

            snapshot = snapshot_from_db()
            if not snapshot.edges:
                raise CommandError("No edges configured: use --topology synthetic.")
        else:
            snapshot = synthetic_snapshot(
                regions=opts["regions"], edges_per_site=opts["edges_per_site"]
            )
        try:
            check_clients(trace, (s.name for s in snapshot.sites.values()), path=opts["trace"])
        except TraceError as exc:
            raise CommandError(f"Cannot replay the trace: {exc}") from None
        steerer = Steerer(snapshot, origin_url="origin", bounded_load=opts["bounded_load"])
        self.stdout.write(f"routing {len(trace)} sessions through steering…")
        chunk_bytes = opts["chunk_mb"] * 1_000_000
        try:
            routed = route(trace, steerer, chunk_bytes=chunk_bytes, path=opts["trace"])
        except TraceError as exc:
            raise CommandError(f"Cannot replay the trace: {exc}") from None
        warmer = Warmer(
            routed,
            steerer,
            chunk_bytes=chunk_bytes,
            catalog=catalog,
            fill_hour=opts["fill_hour"],
            refill=opts["refill"],
            topup_hour=opts["topup_hour"],
        )
        self.stdout.write(f"located by: {routed.located}")
        balance = load_balance(routed)
        self.stdout.write(
            f"load balance (max/mean sessions per edge in a site): "
            f"worst {balance['worst_site']:.3f}, mean {balance['mean_site']:.3f}"
        )
        sizes = [float(s) for s in opts["sizes"].split(",") if s.strip()]
        lookups = sum(len(es.objs) for es in routed.edges.values())
        # Every policy but Belady runs with and without warming.
        runs = 2 * len(policies) - 1
        bar = tqdm(total=lookups * runs * len(sizes), unit="lookup", unit_scale=True, disable=None)
        for pct in sizes:
            results = simulate(
                routed,
                steerer,
                fraction=pct / 100,
                warmer=warmer,
                warm_share=opts["warm_share"],
                policies=policies,
                progress=bar.update,
                edge_policy=edge_policy,
            )
            best = next(r for r in results if r.policy == "belady")
            bar.clear()
            self.stdout.write(f"\ncache = {pct:g}% of each edge's working set")
            self.stdout.write("policy  warming  object_hit  byte_hit  object/belady")
            for r in results:
                rel = r.object_hit_ratio / best.object_hit_ratio if best.object_hit_ratio else 0
                self.stdout.write(
                    f"{r.policy:7s} {'yes' if r.warming else 'no':7s}  "
                    f"{r.object_hit_ratio:10.4f}  {r.byte_hit_ratio:8.4f}  {rel:13.3f}"
                )
        bar.close()
