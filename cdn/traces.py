"""Request traces for the simulator: reading them strictly, writing them, building them from
recorded plays and from a rating dataset's real timestamps.

A trace is CSV `timestamp,client,content_key,bytes`: one playback session that read `bytes` of
the content key from its start. `client` is an IP address (located by the real steering code) or
a site name. A catalogue CSV `content_key,bytes,available_from` may come with it.
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cdn.snapshot import stable_hash


@dataclass(slots=True)
class Request:
    ts: float
    client: str
    key: str
    nbytes: int
    line: int = 0  # line in the trace file it came from (0: not from a file)


class TraceError(ValueError):
    """A trace or catalogue line that cannot be replayed; the message names the line."""


HEADER = ["timestamp", "client", "content_key", "bytes"]


def read_trace(path: str) -> list[Request]:
    """Every session of the trace, oldest first (a stable sort: equal times keep file order).

    Raises TraceError naming the first bad line and what was expected there.
    """
    out: list[Request] = []
    try:
        fh = open(path, newline="")  # noqa: SIM115 - closed below, errors mapped
    except OSError as exc:
        raise TraceError(f"{path}: cannot open: {exc.strerror}") from None
    with fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            if not row or (n == 1 and row[0] == "timestamp"):
                continue
            out.append(_parse_row(path, n, row))
    ordered = all(out[i].ts <= out[i + 1].ts for i in range(len(out) - 1))
    if not ordered:
        out.sort(key=lambda r: r.ts)
    return out


def _parse_row(path: str, n: int, row: list[str]) -> Request:
    if len(row) != 4:
        raise TraceError(
            f"{path}:{n}: expected 4 columns ({','.join(HEADER)}), got {len(row)}: "
            f"{','.join(row)[:80]!r}"
        )
    ts_text, client, key, size_text = row
    try:
        ts = float(ts_text)
    except ValueError:
        raise TraceError(
            f"{path}:{n}: timestamp {ts_text!r} is not a number (expected Unix seconds)"
        ) from None
    if not client:
        raise TraceError(f"{path}:{n}: the client is empty (expected an IP address or a site)")
    if not key:
        raise TraceError(f"{path}:{n}: the content key is empty (expected hls/<asset>/<ver>/)")
    try:
        nbytes = int(size_text)
    except ValueError:
        nbytes = -1
    if nbytes < 1:
        raise TraceError(f"{path}:{n}: bytes {size_text!r} is not a positive whole number")
    return Request(ts, client, key, nbytes, n)


def check_clients(requests: Iterable[Request], sites: Iterable[str], *, path: str = "") -> None:
    """Every client must be an IP address or one of the sites; the first that is neither stops
    the replay with its line and the names that would do."""
    names = set(sites)
    good: set[str] = set()
    for r in requests:
        client = r.client
        if client in names or client in good:
            continue
        try:
            ipaddress.ip_address(client)
        except ValueError:
            where = f"{path}:{r.line}" if path else f"line {r.line}"
            shown = ", ".join(sorted(names)[:20]) + (", …" if len(names) > 20 else "")
            raise TraceError(
                f"{where}: unknown client {client!r}: expected an IP address or one of the "
                f"sites {shown}"
            ) from None
        good.add(client)


def write_trace(path: str, requests: Iterable[Request]) -> int:
    n = 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for r in requests:
            writer.writerow([f"{r.ts:.0f}", r.client, r.key, r.nbytes])
            n += 1
    return n


# --- Catalogue and synthetic traces ----------------------------------------------------------

DAY = 86_400
# 2023-11-14 00:00 UTC: generated days start at midnight, so "04:00" means 04:00 on the trace.
DEFAULT_START = 1_699_920_000.0


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalogue knows about a content key before anyone plays it."""

    nbytes: int
    available_from: float | None = None  # epoch seconds; None: available all along


Catalog = dict[str, CatalogEntry]


def read_catalog(path: str) -> Catalog:
    out: Catalog = {}
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if not row or row[0] == "content_key":
                continue
            out[row[0]] = CatalogEntry(int(row[1]), float(row[2]) if row[2] else None)
    return out


def write_catalog(path: str, catalog: Catalog) -> int:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["content_key", "bytes", "available_from"])
        for key in sorted(catalog):
            entry = catalog[key]
            at = "" if entry.available_from is None else f"{entry.available_from:.0f}"
            writer.writerow([key, entry.nbytes, at])
    return len(catalog)


# --- Trace generator --------------------------------------------------------------------------


def generate_trace(**kwargs: Any) -> list[Request]:
    """The sessions of `generate_workload` (same arguments), without the catalogue."""
    return generate_workload(**kwargs)[0]


def generate_workload(
    *,
    requests: int = 20_000,
    titles: int = 2_000,
    regions: int = 4,
    days: int = 3,
    alpha: float = 0.9,
    new_releases_per_day: int = 5,
    release_share: float = 0.3,
    release_hour: int = 8,
    seed: int = 1,
    start: float = DEFAULT_START,
) -> tuple[list[Request], Catalog]:
    """Zipf popularity, a daily cycle peaking in the evening, new releases that start hot and
    cool, and viewers who abandon titles part-way. Clients are 10.<region>.x.y addresses.

    Each day's releases become available at `release_hour` (08:00, the quiet hour of the daily
    cycle, as a worldwide launch at midnight Pacific is in Europe) and draw `release_share` of
    the sessions of the 24 hours that follow. The catalogue returned with the sessions holds
    every title's size and each release's availability start, as a real catalogue knows them
    before the first play.
    """
    rng = random.Random(seed)
    sizes = [
        rng.randint(300, 2_000) * 1_000_000 for _ in range(titles + days * new_releases_per_day)
    ]
    catalog: Catalog = {_key(t): CatalogEntry(sizes[t]) for t in range(titles)}
    for day in range(days):
        for k in range(new_releases_per_day):
            title = titles + day * new_releases_per_day + k
            catalog[_key(title)] = CatalogEntry(
                sizes[title], start + day * DAY + release_hour * 3600
            )
    weights = [1.0 / (rank + 1) ** alpha for rank in range(titles)]
    # Regions share tastes but not exactly: a fifth of the ranks are shuffled per region.
    region_orders = []
    for _ in range(regions):
        order = list(range(titles))
        for _ in range(titles // 5):
            i, j = rng.randrange(titles), rng.randrange(titles)
            order[i], order[j] = order[j], order[i]
        region_orders.append(order)
    total_w = sum(weights)
    per_day = requests // days
    out: list[Request] = []
    for day in range(days):
        releases = [titles + day * new_releases_per_day + k for k in range(new_releases_per_day)]
        # Daily cycle: more sessions in the evening (local time = UTC for simplicity).
        hours = [1.0 + math.cos((h - 20) / 24 * 2 * math.pi) for h in range(24)]
        hour_cdf = _cdf(hours)
        cum = _cdf(weights)
        for _ in range(per_day):
            region = rng.randrange(regions)
            release = bool(releases) and rng.random() < release_share
            if release:
                title = releases[int(len(releases) * rng.random() ** 2)]
            else:
                rank = _pick(cum, rng.random() * total_w)
                title = region_orders[region][rank]
            hour = _pick(hour_cdf, rng.random() * hour_cdf[-1])
            if release and hour < release_hour:
                hour += 24  # a release's day is the 24 hours after its launch
            ts = start + day * DAY + hour * 3600 + rng.random() * 3600
            frac = rng.random() * 0.15 if rng.random() < 0.35 else rng.uniform(0.5, 1.0)
            nbytes = max(1, int(sizes[title] * frac))
            client = f"10.{region}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            out.append(Request(ts, client, _key(title), nbytes))
    out.sort(key=lambda r: r.ts)
    return out, catalog


def _key(title: int) -> str:
    return f"hls/t{title:05d}/v1/"


def _cdf(weights: list[float]) -> list[float]:
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _pick(cdf: list[float], x: float) -> int:
    return min(len(cdf) - 1, bisect.bisect_left(cdf, x))


# --- Traces from real timestamps -------------------------------------------------------------


def site_by_hash(regions: list[str]) -> Callable[[str], str]:
    """A viewer → region map that is stable across runs and machines (`stable_hash`)."""
    if not regions:
        raise ValueError("at least one region is needed")
    return lambda viewer: regions[stable_hash(viewer) % len(regions)]


def trace_from_plays(
    plays: Iterable[tuple[float, str, str]],
    *,
    region_of: Callable[[str], str],
    nbytes: int,
    key_of: Callable[[str], str] = lambda item: item,
) -> list[Request]:
    """One session per play `(epoch seconds, viewer, item)`, at its own time, from the
    viewer's region, reading `nbytes` of the item's content key (one chunk when `nbytes` is
    the simulator's chunk size)."""
    out = [Request(ts, region_of(viewer), key_of(item), nbytes) for ts, viewer, item in plays]
    out.sort(key=lambda r: r.ts)
    return out


def movielens_plays(path: str) -> list[tuple[float, str, str]]:
    """`(timestamp, user, movie)` of every rating in a MovieLens file: `u.data` (tab-separated
    user, item, rating, timestamp) or `ratings.csv` (userId,movieId,rating,timestamp)."""
    out: list[tuple[float, str, str]] = []
    with open(path, newline="") as fh:
        tab = path.endswith(".data")
        rows = csv.reader(fh, delimiter="\t" if tab else ",")
        for n, row in enumerate(rows, start=1):
            if not row or (n == 1 and row[0] == "userId"):
                continue
            if len(row) < 4:
                raise TraceError(f"{path}:{n}: expected user, item, rating, timestamp")
            try:
                out.append((float(row[3]), row[0], row[1]))
            except ValueError:
                raise TraceError(f"{path}:{n}: timestamp {row[3]!r} is not a number") from None
    return out


def movielens_regions(users_path: str, regions: list[str]) -> dict[str, str]:
    """MovieLens 100K `u.user` (id|age|gender|occupation|zip): each viewer's region is the
    stable hash of their zip code's first three digits (the US postal sectional centre, so
    neighbours share a region) onto `regions`."""
    pick = site_by_hash(regions)
    out = {}
    with open(users_path, encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("|")
            if len(parts) >= 5:
                out[parts[0]] = pick("zip:" + parts[4][:3])
    return out


def movie_key(item: str) -> str:
    return f"hls/m{item}/v1/"
