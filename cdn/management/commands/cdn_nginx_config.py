"""Render an edge's nginx configuration (proxy_cache, secure_link, health and load endpoints)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdn.admission import EdgePolicy, write_mode_file
from cdn.nginx import render_edge_agent, render_edge_config
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = "Render the nginx configuration of one CDN edge."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="edge name (shown in X-Edge)")
        parser.add_argument("--listen", default="8080", help="nginx listen value, e.g. 8080")
        parser.add_argument(
            "--origin", default=None, help="origin base URL (http://host:port/media/)"
        )
        parser.add_argument("--prefix", required=True, help="directory for pid, logs, temp files")
        parser.add_argument("--cache-dir", default=None)
        parser.add_argument("--cache-max-size", default="10g")
        parser.add_argument("--user", default=None, help="nginx `user` directive (when root)")
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--output", "-o", default=None, help="file to write (default stdout)")
        parser.add_argument("--inactive", default="7d", help="drop cached files unread this long")
        parser.add_argument("--valid", default="7d", help="refetch cached files this old")
        parser.add_argument(
            "--min-uses",
            type=int,
            default=None,
            help=(
                "lookups of a file before the LRU zone stores it (default: the edge policy's "
                f"{EdgePolicy.min_uses} with an admission or pin list, else 1)"
            ),
        )
        parser.add_argument(
            "--admission-list",
            default=None,
            help="file of `<content key> 0;` lines: only those titles are stored (cdn_edge_lists)",
        )
        parser.add_argument(
            "--pin-list",
            default=None,
            help="file of `<content key> <zone>_pin;` lines: titles held in a zone of their own",
        )
        parser.add_argument("--pin-max-size", default="1g")
        parser.add_argument(
            "--mode-file",
            default=None,
            help=(
                "per-edge mode: one zone the size of the cache under --admission-list, "
                "`include`ing this file (`proxy_cache_min_uses N;`, cdn_edge_lists) in place "
                'of --min-uses; created in "pin" mode (1) when missing'
            ),
        )

        parser.add_argument(
            "--lists-url",
            default=None,
            help=(
                "also write <prefix>/pull-lists.sh, the edge's agent: it fetches the lists "
                "given above from this URL (the origin's <path>edge-lists/), checks them and "
                "reloads nginx when they changed; run it every few minutes (needs --output)"
            ),
        )
        parser.add_argument(
            "--touch-allow",
            action="append",
            default=[],
            metavar="CIDR",
            help=(
                "answer keep-hot touches (HEAD /_touch/<cache key>: a lookup in the zone that "
                "never reaches the origin) from these addresses; repeat for more"
            ),
        )

    def handle(self, *args, **opts):
        origin = opts["origin"] or settings.CDN_ORIGIN_URL
        # An edge under the project's lists runs the policy the simulator measured.
        min_uses = opts["min_uses"]
        if min_uses is None:
            lists = opts["admission_list"] or opts["pin_list"]
            min_uses = EdgePolicy.min_uses if lists else 1
        try:
            text = render_edge_config(
                name=opts["name"],
                listen=opts["listen"],
                origin_url=origin,
                prefix=opts["prefix"],
                cache_dir=opts["cache_dir"],
                cache_max_size=opts["cache_max_size"],
                user=opts["user"],
                workers=opts["workers"],
                inactive=opts["inactive"],
                valid=opts["valid"],
                min_uses=min_uses,
                admission_list=opts["admission_list"],
                pin_list=opts["pin_list"],
                pin_max_size=opts["pin_max_size"],
                mode_file=opts["mode_file"],
                touch_allow=opts["touch_allow"],
            )
            agent = None
            if opts["lists_url"]:
                if not opts["output"]:
                    raise CommandError("--lists-url needs --output (the agent reloads that file).")
                agent = render_edge_agent(
                    name=opts["name"],
                    lists_url=opts["lists_url"],
                    prefix=opts["prefix"],
                    conf=str(Path(opts["output"]).resolve()),
                    admission_list=opts["admission_list"],
                    pin_list=opts["pin_list"],
                    mode_file=opts["mode_file"],
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        prefix = Path(opts["prefix"])
        for sub in ("tmp", "cache"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        for listed in (opts["admission_list"], opts["pin_list"]):
            # nginx will not start on a missing include: an empty list admits/pins nothing.
            if listed and not Path(listed).exists():
                Path(listed).parent.mkdir(parents=True, exist_ok=True)
                Path(listed).touch()
        mode_file = opts["mode_file"]
        if mode_file and not Path(mode_file).exists():
            # The per-edge mode starts in "pin": the pin list stored at the first request.
            Path(mode_file).parent.mkdir(parents=True, exist_ok=True)
            write_mode_file(mode_file, min_uses=1)
        if agent is not None:
            script = prefix / "pull-lists.sh"
            script.write_text(agent)
            script.chmod(0o755)
            self.stdout.write(f"wrote {script}")
        if opts["output"]:
            Path(opts["output"]).write_text(text)
            self.stdout.write(f"wrote {opts['output']}")
        else:
            self.stdout.write(text)
