"""Write each edge's admission and pin lists (the files its nginx `map`s read)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from cdn.admission import EdgePolicy, site_lists, write_admission_list, write_pin_list
from cdn.selectors import recorded_sessions, snapshot_from_db
from cdn.warming import LOOKBACK


class Command(BaseCommand):
    help = (
        "Decide from the recorded plays what each configured edge stores and pins; write "
        "<edge>.admission.map and <edge>.pin.map into --out-dir (then reload the edges)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out-dir", required=True)
        parser.add_argument(
            "--pin-titles", type=int, default=50, help="titles each edge pins (its pin zone)"
        )
        parser.add_argument("--admit-score", type=float, default=EdgePolicy.admit_score)

    def handle(self, *args, **opts):
        now = timezone.now()
        snapshot = snapshot_from_db()
        edges_by_site = {
            site.name: [e for e in site.edges if e.admin_state == "online"]
            for site in snapshot.sites.values()
        }
        policy = EdgePolicy(admit_score=opts["admit_score"])
        lists = site_lists(
            recorded_sessions(since=now - LOOKBACK),
            now=now.timestamp(),
            edges_by_site=edges_by_site,
            policy=policy,
            pin_titles=opts["pin_titles"],
        )
        out = Path(opts["out_dir"])
        out.mkdir(parents=True, exist_ok=True)
        zones = {e.name: e.name for edges in edges_by_site.values() for e in edges}
        for name, (admitted, pinned) in sorted(lists.items()):
            zone = "".join(c if c.isalnum() or c == "_" else "_" for c in zones[name])
            write_admission_list(str(out / f"{name}.admission.map"), admitted)
            write_pin_list(str(out / f"{name}.pin.map"), pinned, zone=zone)
            self.stdout.write(f"{name}: {len(admitted)} admitted, {len(pinned)} pinned")
