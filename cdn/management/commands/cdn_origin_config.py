"""Render the media origin's nginx configuration (local storage, secure_link, edge fills)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdn.nginx import render_origin_config
from streamsite.errors import DomainError


class Command(BaseCommand):
    help = (
        "Render the nginx configuration of the media origin: MEDIA_ROOT served under --path, "
        "signed paths checked like an edge's, plain paths and the edges' lists only for the "
        "edges' networks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="8090", help="nginx listen value, e.g. 8090")
        parser.add_argument("--prefix", required=True, help="directory for pid, logs, temp files")
        parser.add_argument("--media-root", default=None, help="default: MEDIA_ROOT")
        parser.add_argument("--path", default="/media/", help="URL path media lives under")
        parser.add_argument(
            "--fill-from",
            action="append",
            default=[],
            help="a network the edges fill their caches from (repeat; default: none)",
        )
        parser.add_argument(
            "--lists-dir",
            default=None,
            help=(
                "also serve the edges' lists from this directory under <path>edge-lists/, to "
                "the --fill-from networks only (default: CDN_EDGE_LISTS_DIR when set)"
            ),
        )
        parser.add_argument("--user", default=None, help="nginx `user` directive (when root)")
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--output", "-o", default=None, help="file to write (default stdout)")

    def handle(self, *args, **opts):
        try:
            text = render_origin_config(
                listen=opts["listen"],
                media_root=str(opts["media_root"] or settings.MEDIA_ROOT),
                prefix=opts["prefix"],
                path=opts["path"],
                fill_from=opts["fill_from"],
                lists_dir=opts["lists_dir"] or settings.CDN_EDGE_LISTS_DIR or None,
                user=opts["user"],
                workers=opts["workers"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        (Path(opts["prefix"]) / "tmp").mkdir(parents=True, exist_ok=True)
        if opts["output"]:
            Path(opts["output"]).write_text(text)
            self.stdout.write(f"wrote {opts['output']}")
        else:
            self.stdout.write(text)
