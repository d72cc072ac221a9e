"""Write each edge's admission and pin lists (the files its nginx `map`s read), and with the
per-edge mode on its mode file; record each edge's pin list, hottest first, for warming."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdn.admission import (
    EdgePolicy,
    site_lists,
    write_admission_list,
    write_mode_file,
    write_pin_list,
)
from cdn.selectors import recorded_sessions, snapshot_from_db, touch_list_sizes
from cdn.services import (
    edge_mode_choose,
    edge_mode_pin_titles,
    edge_mode_policy,
    edge_modes_catch_up,
    edge_pin_lists_record,
)
from cdn.warming import LOOKBACK

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
            "--pin-titles", type=int, default=50, help="titles each edge pins (its pin zone)"
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
        snapshot = snapshot_from_db()
        edges_by_site = {
            site.name: [e for e in site.edges if e.admin_state == "online"]
            for site in snapshot.sites.values()
        }
        policy = EdgePolicy(admit_score=opts["admit_score"])
        plays = list(recorded_sessions(since=now - LOOKBACK))
        names = sorted(e.name for edges in edges_by_site.values() for e in edges)
        # The per-edge mode: what the edges logged since the last run, through their arms.
        edge_modes_catch_up(names, now=now)
        lists = site_lists(
            plays,
            now=now.timestamp(),
            edges_by_site=edges_by_site,
            policy=policy,
            pin_titles=opts["pin_titles"],
            # An edge in the per-edge mode pins as many titles as its whole cache holds.
            pin_titles_by_edge=edge_mode_pin_titles(names),
        )
        # The per-edge mode: each edge runs pin-only or LRU-only, as its arms say; the LRU
        # mode admits every title played before (the simulator's `played`).
        played = sorted({key for at, _, key in plays if at < now.timestamp()})
        modes = edge_mode_choose(
            names=sorted(lists),
            pinned={name: pinned for name, (_, pinned) in lists.items()},
            played=played,
            now=now,
        )
        policy_now = edge_mode_policy()
        mode_min_uses = policy_now.min_uses
        to_touch = touch_list_sizes(names=sorted(modes)) if policy_now.touch_share else {}
        out = Path(opts["out_dir"])
        out.mkdir(parents=True, exist_ok=True)
        zones = {e.name: e.name for edges in edges_by_site.values() for e in edges}
        ids = {e.name: e.id for edges in edges_by_site.values() for e in edges}
        fills: dict[int, list[str]] = {}
        for name, (admitted, pinned) in sorted(lists.items()):
            zone = "".join(c if c.isalnum() or c == "_" else "_" for c in zones[name])
            if name in modes:
                mode, switched = modes[name]
                pin = mode == "pin"
                admitted = pinned if pin else played
                write_mode_file(
                    str(out / f"{name}.mode.conf"), min_uses=1 if pin else mode_min_uses
                )
            write_admission_list(str(out / f"{name}.admission.map"), admitted)
            write_pin_list(str(out / f"{name}.pin.map"), pinned, zone=zone)
            # What warming fills here, hottest first: the pin list, except on an edge in the
            # per-edge mode's LRU mode, which pins nothing (as the simulator's fill).
            lru_mode = name in modes and modes[name][0] == "lru"
            fills[ids[name]] = [] if lru_mode else pinned
            line = f"{name}: {len(admitted)} admitted, {len(pinned)} pinned"
            if name in modes:
                line += f", mode {mode}" + (" (switched: reload it)" if switched else "")
                if mode == "lru" and name in to_touch:
                    files = to_touch[name]
                    line += f", {files} file{'' if files == 1 else 's'} to touch"
            self.stdout.write(line)
        edge_pin_lists_record(pinned=fills, decided_at=now)
