"""What each edge stores and pins, decided from the edges' request history; nginx obeys.

Every `interval` the planner scores each title for each edge from the requests seen before
that moment: a count-min sketch of the edge's own sessions and one of every edge's sessions
(TinyLFU-style frequency; each count decays with `half_life_hours`), blended as
`local + global_weight * global / edges`. The best-scored titles, as many as fit `pin_share`
of the cache, go to the edge's pin list (a proxy_cache zone of their own, pre-filled by
warming); titles scoring at least `admit_score` go to its admission list (everything else is
served and not stored: `proxy_no_cache`). Both lists are files the edge's nginx `map`s read
(`write_admission_list`, `write_pin_list`), rendered by `cdn_nginx_config`.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from cdn.signing import PREFIX_RE, validate_prefix
from cdn.snapshot import EdgeInfo, stable_hash
from cdn.steering import rendezvous_rank


@dataclass(frozen=True)
class EdgePolicy:
    interval: float = 3600.0  # seconds between two list updates
    half_life_hours: float = 24.0 * 90
    global_weight: float = 16.0
    pin_share: float = 0.9  # of the cache, for the pinned titles' zone
    admit_score: float = 1.0  # stored in the LRU zone from this score up
    # proxy_cache_min_uses of the LRU zone: a file is stored at its second request there, so a
    # chunk read once (an abandoned session's tail) never displaces one read twice. The pin
    # zone stores at the first (`cdn_nginx_config` serves pinned titles from `@pinned`).
    # Measured in docs/benchmarks.md: higher than 1 at every size of every trace.
    min_uses: int = 2
    # Content keys are versioned, so a stored file never changes: the edge is rendered with
    # `--inactive 365d --valid 365d` and the lists alone decide what stays.
    inactive: float = 365 * 86_400.0
    valid: float = 365 * 86_400.0
    # Every `mode_every` seconds (0, the default: never; `pin_share` always) each edge picks
    # how to use its cache: "pin" (the pin list alone admitted, stored at the first request)
    # or "lru" (every title played before admitted, stored at the `min_uses`-th request),
    # whichever would have hit more of the edge's lookups so far, both replayed beside the
    # real edge from its first lookup; the first choice once it has seen `mode_lookups` x
    # (cache size) lookups. nginx runs either as one zone the size of the whole cache: a switch
    # is another admission list and min_uses, and a reload, and the files stored stay.
    # Measured in docs/benchmarks.md: higher than the fixed shares at every size of every
    # trace. Opt-in; real edges run it with CDN_EDGE_MODE_EVERY (cdn.edge_mode, EdgeMode,
    # `cdn_edge_lists`, `cdn_nginx_config --mode-file`).
    mode_every: float = 0.0
    mode_lookups: float = 2.0
    mode_margin: float = 1.0  # the other mode must hit this many times as often to switch
    # With the per-edge mode, at every list update an edge in the LRU mode is touched
    # (`cdn.keep_hot`): the `touch_share` x (cache size) files it has read most, each read's
    # weight halving every `touch_half_life_hours`, coldest first, so they stay at the head of
    # its queue; the arms' LRU arm is touched as the edge would be, whatever the mode. The
    # edge keeps the counts of at most `touch_keep` x (cache size) files. 0, the default: no
    # touches (real edges: CDN_EDGE_TOUCH_SHARE).
    touch_share: float = 0.0
    touch_half_life_hours: float = 6.0
    touch_keep: float = 2.0
    # Every `learned_every` seconds (0, the default: never) a model of how often each title
    # will be asked for on the edge in the next `learned_horizon` seconds is trained from
    # every edge's history so far (`cdn.demand_model`, LightGBM), and the pin list is the
    # titles it ranks first; the count rule ranks until there is a model, and always decides
    # the admission list. A title already on the list stays while the model ranks it within
    # `learned_keep` x the list's length (a newcomer costs a miss before it is stored).
    # Opt-in: measured in docs/benchmarks.md (ml-100k short of 0.70 x Belady).
    learned_every: float = 0.0
    learned_horizon: float = 7 * 86_400.0
    learned_keep: float = 3.0


class DecayingSketch:
    """Count-min sketch whose counts halve every `half_life` seconds (TinyLFU-style ageing).

    A count added at t weighs 2 ** ((t - origin) / half_life); estimates at `now` are scaled
    back by the same factor, so decay costs nothing per update. Keys are 64-bit hashes.
    """

    def __init__(self, *, half_life: float, width: int = 4096, depth: int = 4) -> None:
        if width & (width - 1):
            raise ValueError("width must be a power of two")
        self.half_life = half_life
        self.width = width
        self.depth = depth
        self.table = np.zeros((depth, width), dtype=np.float64)
        self.origin: float | None = None

    def _rows(self, hashes: np.ndarray) -> np.ndarray:
        bits = int(math.log2(self.width))
        h = hashes.astype(np.uint64)
        return np.stack(
            [((h >> np.uint64(bits * d)) & np.uint64(self.width - 1)) for d in range(self.depth)]
        ).astype(np.int64)

    def add(self, hashes: np.ndarray, ts: np.ndarray) -> None:
        if len(hashes) == 0:
            return
        if self.origin is None:
            self.origin = float(ts[0])
        weight = np.exp2((ts - self.origin) / self.half_life)
        if weight.max() > 1e200:  # rebase before the weights overflow
            self.table *= 2.0 ** (-(float(ts[0]) - self.origin) / self.half_life)
            self.origin = float(ts[0])
            weight = np.exp2((ts - self.origin) / self.half_life)
        rows = self._rows(hashes)
        for d in range(self.depth):
            np.add.at(self.table[d], rows[d], weight)

    def estimate(self, hashes: np.ndarray, now: float) -> np.ndarray:
        if self.origin is None or len(hashes) == 0:
            return np.zeros(len(hashes))
        rows = self._rows(hashes)
        est = np.min(np.stack([self.table[d, rows[d]] for d in range(self.depth)]), axis=0)
        return est * 2.0 ** (-(now - self.origin) / self.half_life)


@dataclass
class Lists:
    """One edge's decision at one moment: titles (key indexes) to pin and to admit, and the
    score that ranked them (one per key, in the order `decide` was given them)."""

    pinned: set[int]
    admitted: set[int]
    score: np.ndarray


def decide(
    *,
    keys: np.ndarray,
    local: np.ndarray,
    glob: np.ndarray,
    edges: int,
    policy: EdgePolicy,
    pin_titles: int,
) -> Lists:
    """Pin the `pin_titles` best-scored titles; admit every title scoring `admit_score`."""
    score = local + policy.global_weight * glob / max(1, edges)
    pinned: set[int] = set()
    if pin_titles > 0 and len(keys):
        top = min(pin_titles, len(keys))
        best = np.argpartition(-score, top - 1)[:top]
        pinned = {int(keys[i]) for i in best if score[i] > 0}
    admitted = {int(k) for k in keys[score >= policy.admit_score]}
    return Lists(pinned=pinned, admitted=admitted, score=score)


# --- The files nginx reads --------------------------------------------------------------------

# Every line of each file, as the writers below write it: patterns grep -E and Python's re both
# take, which the edge's agent checks each fetched file against (`cdn.nginx.render_edge_agent`).
TITLE_PATTERN = PREFIX_RE.pattern.removeprefix("^").removesuffix("$")  # hls/<asset>/<version>/
ADMISSION_LINE = rf"^{TITLE_PATTERN} 0;$"
PIN_LINE = rf"^{TITLE_PATTERN} [A-Za-z0-9_]+_pin;$"
MODE_LINE = r"^proxy_cache_min_uses [0-9]{1,4};$"


def _write_atomically(path: str, lines: Iterable[str]) -> int:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".list-")
    n = 0
    with os.fdopen(fd, "w") as fh:
        for line in lines:
            fh.write(line + "\n")
            n += 1
    os.replace(tmp, path)  # nginx never reads half a list
    return n


def write_admission_list(path: str, keys: Iterable[str]) -> int:
    """`<content key> 0;` per admitted title: the value of `$cdn_no_store` for it."""
    return _write_atomically(path, (f"{validate_prefix(k)} 0;" for k in sorted(set(keys))))


def write_pin_list(path: str, keys: Iterable[str], *, zone: str) -> int:
    """`<content key> <zone>_pin;` per pinned title: the `proxy_cache` zone it goes to."""
    return _write_atomically(path, (f"{validate_prefix(k)} {zone}_pin;" for k in sorted(set(keys))))


def write_mode_file(path: str, *, min_uses: int) -> None:
    """`proxy_cache_min_uses N;`: the per-edge mode's one zone stores at the N-th request (1 in
    "pin" mode, the policy's `min_uses` in "lru" mode); `cdn_nginx_config --mode-file` includes
    it in place of the directive."""
    if not 1 <= min_uses <= 1000:
        raise ValueError("min_uses must be between 1 and 1000")
    _write_atomically(path, [f"proxy_cache_min_uses {int(min_uses)};"])


# --- Placement across a site's edges and the lists of real edges ----------------------------


def place(
    ranked_keys: list[str], edges: list[EdgeInfo], *, hot: int = 0, copies: int = 2
) -> dict[str, list[str]]:
    """Each key goes to the edge steering ranks first for it in the site (the rendezvous hash,
    so a site's edges hold different titles and removing one moves only its keys); the `hot`
    best-ranked keys also go to the next `copies - 1` edges, on purpose, where a failover or a
    bounded-load spill of a popular title lands. Each edge's keys keep the order of
    `ranked_keys`."""
    out: dict[str, list[str]] = {e.name: [] for e in edges}
    for rank, key in enumerate(ranked_keys):
        n = copies if rank < hot else 1
        for edge in rendezvous_rank(stable_hash(key), edges)[:n]:
            out[edge.name].append(key)
    return out


def site_lists(
    plays: Iterable[tuple[float, str, str]],
    *,
    now: float,
    edges_by_site: dict[str, list[EdgeInfo]],
    policy: EdgePolicy,
    pin_titles: int,
    pin_titles_by_edge: Mapping[str, int] | None = None,
    hot_share: float = 0.1,
) -> dict[str, tuple[list[str], list[str]]]:
    """Per edge, (admitted keys, pinned keys) at `now` from the plays `(epoch, site, key)`
    recorded before it: the same sketches and rule as the simulator's `edge` policy, per site,
    then `place`d on the site's edges (the hottest tenth on two). An edge named in
    `pin_titles_by_edge` counts that many titles towards its site's pin list, any other
    `pin_titles`.

    Both lists of an edge come hottest first: ranked by the pin score (`Lists.score`, ties by
    key) and `place`d, which keeps that order per edge. `cdn_edge_lists` records the pin lists
    in this order, and warming fills them in it (`cdn.warming.plan_site_pins`)."""
    by_edge = pin_titles_by_edge or {}
    half_life = policy.half_life_hours * 3600
    per_site: dict[str, list[tuple[float, str]]] = {}
    every: list[tuple[float, str]] = []
    for at, site, key in plays:
        if at < now:
            per_site.setdefault(site, []).append((at, key))
            every.append((at, key))
    keys = sorted({k for _, k in every})
    if not keys:
        return {e.name: ([], []) for edges in edges_by_site.values() for e in edges}
    index = {k: i for i, k in enumerate(keys)}
    hashes = np.array([stable_hash(k) for k in keys], dtype=np.uint64)
    glob = DecayingSketch(half_life=half_life)
    glob.add(
        np.array([hashes[index[k]] for _, k in every], dtype=np.uint64),
        np.array([at for at, _ in every]),
    )
    g = glob.estimate(hashes, now)
    ids = np.arange(len(keys))
    total_edges = sum(len(e) for e in edges_by_site.values())
    out: dict[str, tuple[list[str], list[str]]] = {}
    for site, edges in edges_by_site.items():
        local = DecayingSketch(half_life=half_life)
        rows = per_site.get(site, [])
        local.add(
            np.array([hashes[index[k]] for _, k in rows], dtype=np.uint64),
            np.array([at for at, _ in rows]),
        )
        lists = decide(
            keys=ids,
            local=local.estimate(hashes, now),
            glob=g,
            edges=total_edges,
            policy=policy,
            pin_titles=sum(by_edge.get(e.name, pin_titles) for e in edges) if edges else pin_titles,
        )
        score = lists.score
        ranked = sorted(
            (keys[i] for i in lists.admitted | lists.pinned), key=lambda k: (-score[index[k]], k)
        )
        hot = int(len(ranked) * hot_share)
        admitted = place(ranked, edges, hot=hot)
        pinned = place(
            sorted((keys[i] for i in lists.pinned), key=lambda k: (-score[index[k]], k)),
            edges,
            hot=hot,
        )
        for e in edges:
            out[e.name] = (admitted[e.name], pinned[e.name])
    return out
