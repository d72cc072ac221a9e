"""Each edge's lists, decided from the recorded plays and written as the files its nginx reads.

Per configured (online) edge, into one directory: `<edge>.admission.map` (what it may store),
`<edge>.pin.map` (what goes to its pin zone) and, with the per-edge mode on
(CDN_EDGE_MODE_EVERY), `<edge>.mode.conf` (the zone's `proxy_cache_min_uses`). Each file is
replaced whole (`cdn.admission`'s writers), so a reader never sees half of one. The pin lists
are also recorded, hottest first, for warming (`EdgePinList`).

Who runs it: beat, hourly on the hour (`cdn.tasks.decide_edge_lists`, into CDN_EDGE_LISTS_DIR),
or `manage.py cdn_edge_lists --out-dir` by hand. The edges fetch the files from the origin,
which serves the directory to the edges' networks (`cdn_origin_config --lists-dir`), check
them and reload (`cdn_edge_agent`'s script, on each edge).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cdn.admission import (
    EdgePolicy,
    site_lists,
    write_admission_list,
    write_mode_file,
    write_pin_list,
)
from cdn.nginx import zone_name
from cdn.selectors import recorded_sessions, snapshot_from_db, touch_list_sizes
from cdn.services import (
    edge_mode_choose,
    edge_mode_pin_titles,
    edge_mode_policy,
    edge_modes_catch_up,
    edge_pin_lists_record,
)
from cdn.warming import LOOKBACK

#: titles an edge pins when nothing sizes its list (an edge without the per-edge mode's arms)
PIN_TITLES = 50


def decide_and_write(
    *,
    out_dir: Path,
    now: datetime,
    pin_titles: int = PIN_TITLES,
    admit_score: float = EdgePolicy.admit_score,
) -> list[str]:
    """Decide every online edge's lists as at `now` from the plays before it, write its files
    into `out_dir` and record its pin list; one line per edge saying what it got (and, in the
    per-edge mode, its mode, whether it switched, and how many files it will be touched with)."""
    snapshot = snapshot_from_db()
    edges_by_site = {
        site.name: [e for e in site.edges if e.admin_state == "online"]
        for site in snapshot.sites.values()
    }
    policy = EdgePolicy(admit_score=admit_score)
    plays = list(recorded_sessions(since=now - LOOKBACK))
    names = sorted(e.name for edges in edges_by_site.values() for e in edges)
    # The per-edge mode: what the edges logged since the last run, through their arms.
    edge_modes_catch_up(names, now=now)
    lists = site_lists(
        plays,
        now=now.timestamp(),
        edges_by_site=edges_by_site,
        policy=policy,
        pin_titles=pin_titles,
        # An edge in the per-edge mode pins as many titles as its whole cache holds.
        pin_titles_by_edge=edge_mode_pin_titles(names),
    )
    # The per-edge mode: each edge runs pin-only or LRU-only, as its arms say; the LRU mode
    # admits every title played before (the simulator's `played`).
    played = sorted({key for at, _, key in plays if at < now.timestamp()})
    modes = edge_mode_choose(
        names=sorted(lists),
        pinned={name: pinned for name, (_, pinned) in lists.items()},
        played=played,
        now=now,
    )
    policy_now = edge_mode_policy()
    to_touch = touch_list_sizes(names=sorted(modes)) if policy_now.touch_share else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = {e.name: e.id for edges in edges_by_site.values() for e in edges}
    fills: dict[int, list[str]] = {}
    lines = []
    for name, (admitted, pinned) in sorted(lists.items()):
        if name in modes:
            mode, switched = modes[name]
            pin = mode == "pin"
            admitted = pinned if pin else played
            write_mode_file(
                str(out_dir / f"{name}.mode.conf"), min_uses=1 if pin else policy_now.min_uses
            )
        write_admission_list(str(out_dir / f"{name}.admission.map"), admitted)
        write_pin_list(str(out_dir / f"{name}.pin.map"), pinned, zone=zone_name(name))
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
        lines.append(line)
    edge_pin_lists_record(pinned=fills, decided_at=now)
    return lines
