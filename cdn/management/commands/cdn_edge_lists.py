"""Write each edge's admission and pin lists (the files its nginx `map`s read), and with the
per-edge mode on its mode file; record each edge's pin list, hottest first, for warming. The
work is `cdn.edge_lists.decide_and_write`, which beat also runs hourly (CDN_EDGE_LISTS_DIR)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdn.admission import EdgePolicy
from cdn.edge_lists import PIN_TITLES, decide_and_write

EXAMPLE_NOW = "2026-01-15T07:00:00+00:00"


def parse_now(text: str) -> datetime:
    """--now: an ISO time with its UTC offset (a time without one is ambiguous)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--now {text!r} is not an ISO time, e.g. {EXAMPLE_NOW}") from None
    if at.tzinfo is None:
        raise CommandError(f"--now {text!r} has no UTC offset, e.g. {EXAMPLE_NOW}")
    return at


class Command(BaseCommand):
    help = (
        "Decide from the recorded plays what each configured edge stores and pins; write "
        "<edge>.admission.map and <edge>.pin.map into --out-dir, and with CDN_EDGE_MODE_EVERY "
        "<edge>.mode.conf (then reload the edges; the ones that switched mode are named), and "
        "with CDN_EDGE_TOUCH_PERCENT each edge's files to touch (the hourly touch task sends them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out-dir", required=True)
        parser.add_argument(
            "--pin-titles",
            type=int,
            default=PIN_TITLES,
            help="titles each edge pins (its pin zone)",
        )
        parser.add_argument("--admit-score", type=float, default=EdgePolicy.admit_score)
        parser.add_argument(
            "--now",
            default=None,
            help="decide as at this ISO time with its offset, from the plays before it "
            "(replaying a recorded past, as bench/cdn_edges_warming.py does); default: now",
        )

    def handle(self, *args, **opts):
        now = parse_now(opts["now"]) if opts["now"] else timezone.now()
        lines = decide_and_write(
            out_dir=Path(opts["out_dir"]),
            now=now,
            pin_titles=opts["pin_titles"],
            admit_score=opts["admit_score"],
        )
        for line in lines:
            self.stdout.write(line)
