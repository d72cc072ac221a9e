"""Cache warming: predict demand per site, plan what each edge holds, pre-fetch via the edges."""

from __future__ import annotations

import logging
import math
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from cdn.models import Edge, EdgeContent, Site, SteeringDecision
from cdn.selectors import pin_lists_since
from cdn.services import edge_contents_plan, edge_count_cache_status
from cdn.signing import signed_url
from cdn.snapshot import EdgeInfo, stable_hash
from cdn.steering import rendezvous_rank

log = logging.getLogger(__name__)

Demand = dict[str, dict[str, float]]  # region (site name) → {content_key: score}
HALF_LIFE_HOURS = 24.0
LOOKBACK = timedelta(days=7)
LEASE = timedelta(minutes=5)
DAY_SECONDS = 86_400.0
LOOKBACK_S = LOOKBACK.total_seconds()
MAX_FILES_PER_KEY = 20_000
#: the User-Agent of the warmer's fetches: the edges log it, and the ingest keeps its lookups out
#: of the per-edge mode's arms and read counts (fills are not viewers' lookups)
WARMER_AGENT = "streamsite-cdn-warmer"


def decayed_demand(
    rows: Iterable[tuple[str, str, float]],
    *,
    now: float,
    half_life_hours: float = HALF_LIFE_HOURS,
    lookback: timedelta = LOOKBACK,
) -> Demand:
    """Sum past plays `(site_name, content_key, epoch seconds)` per site, each weighted by
    0.5 ** (age / half-life). Plays after `now`, or older than the lookback, are ignored: a
    prediction made at `now` only sees what had happened by then."""
    demand: Demand = defaultdict(lambda: defaultdict(float))
    oldest = now - lookback.total_seconds()
    for site_name, key, at in rows:
        if not site_name or at > now or at < oldest:
            continue
        demand[site_name][key] += math.pow(0.5, (now - at) / 3600 / half_life_hours)
    return {region: dict(keys) for region, keys in demand.items()}


def demand_from_decisions(*, now: datetime) -> Demand:
    """Default demand provider: recorded steering decisions, each decaying with a 24 h half-life.

    A provider that adds boosts (new releases, what recommendations will surface) wraps this
    one and names itself in CDN_DEMAND_PROVIDER; see `with_boosts` and `with_releases`.
    """
    return decayed_demand(recorded_plays(now=now), now=now.timestamp())


def recorded_plays(*, now: datetime) -> Iterator[tuple[str, str, float]]:
    """`(site_name, content_key, epoch seconds)` of the steering decisions of the lookback."""
    rows = SteeringDecision.objects.filter(created_at__gte=now - LOOKBACK).values_list(
        "site_name", "content_key", "created_at"
    )
    for site, key, at in rows.iterator(chunk_size=5000):
        yield site, key, at.timestamp()


def with_boosts(base: Demand, boosts: dict[str, float]) -> Demand:
    """Multiply scores by per-key boosts (e.g. 2.0 for a new release); unseen keys get the boost
    times the region's median score, so a release nobody has watched yet still gets a copy."""
    out: Demand = {}
    for region, keys in base.items():
        scores = sorted(keys.values())
        median = scores[len(scores) // 2] if scores else 1.0
        merged = dict(keys)
        for key, boost in boosts.items():
            merged[key] = merged.get(key, median) * boost if key in keys else median * boost
        out[region] = merged
    return out


def with_releases(
    base: Demand,
    releases: dict[str, float],
    *,
    now: float,
    plays: Iterable[tuple[str, str, float]] = (),
    horizon_hours: float = 24.0,
) -> Demand:
    """Add the catalogue's upcoming releases to each region's demand.

    `releases` is the release schedule (content key → epoch second its availability starts),
    which the catalogue knows ahead; a key launching within `horizon_hours` of `now` (before the
    next fill window) gets the region's *release prior*: how many plays earlier releases drew in
    their first 24 hours in that region, on average (`plays` are past `(site, key, epoch)`
    plays; later ones are ignored). With no earlier release to learn from, the prior is the
    region's top score, so the launch is warmed first. Future plays are never looked at.
    """
    upcoming = [k for k, at in releases.items() if now <= at < now + horizon_hours * 3600]
    if not upcoming:
        return base
    launched = {
        k: at for k, at in releases.items() if at + DAY_SECONDS <= now and at >= now - LOOKBACK_S
    }
    first_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for site_name, key, at in plays:
        start = launched.get(key)
        if start is not None and start <= at < start + DAY_SECONDS and at < now:
            first_day[site_name][key] += 1
    out: Demand = {}
    for region in set(base) | set(first_day):
        keys = dict(base.get(region, {}))
        if launched:
            # Launches nobody in this region watched count as zero plays.
            prior = sum(first_day.get(region, {}).values()) / len(launched)
        else:
            prior = max(keys.values(), default=1.0)
        for key in upcoming:
            keys[key] = max(keys.get(key, 0.0), prior)
        out[region] = keys
    return out


def demand_provider() -> Callable[..., Demand]:
    return import_string(settings.CDN_DEMAND_PROVIDER)


def fill_opened(site: Site, now: datetime) -> datetime:
    """When the site's fill window last opened at or before `now` (its local start hour)."""
    local = now.astimezone(ZoneInfo(site.timezone))
    opened = local.replace(hour=site.fill_start_hour, minute=0, second=0, microsecond=0)
    if opened > local:
        opened = (local - timedelta(days=1)).replace(
            hour=site.fill_start_hour, minute=0, second=0, microsecond=0
        )
    return opened


def in_fill_window(site: Site, now: datetime) -> bool:
    hour = now.astimezone(ZoneInfo(site.timezone)).hour
    start, end = site.fill_start_hour, site.fill_end_hour
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def edge_infos(site_edges: list[Edge]) -> list[EdgeInfo]:
    """The site's online edges as steering sees them (same names, weights and salts)."""
    return [
        EdgeInfo(
            id=e.id,
            name=e.name,
            site_id=e.site_id,
            base_url=e.base_url,
            weight=e.weight,
            salt=stable_hash(e.name),
        )
        for e in site_edges
        if e.admin_state == Edge.AdminState.ONLINE
    ]


def site_edges_ranked(site_edges: list[Edge], content_key: str) -> list[Edge]:
    """The site's online edges in the order steering ranks them for this key (same hash)."""
    by_id = {e.id: e for e in site_edges}
    return [by_id[i.id] for i in rendezvous_rank(stable_hash(content_key), edge_infos(site_edges))]


def assign_edges(
    scores: dict[str, float], edges: list[EdgeInfo], *, keys: int
) -> list[tuple[str, float, EdgeInfo]]:
    """The site's `keys` most wanted keys, hottest first, each with the edges to hold it.

    Every key goes to the edge steering ranks first for it (the same rendezvous hash), so what
    is warmed is where viewers are sent; the top tenth also go to the second-ranked edge, where
    a failover or a bounded-load spill of a hot title lands. Shared by `plan_site` (real edges)
    and the simulator.
    """
    if not edges or keys <= 0:
        return []
    wanted = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:keys]
    hot = max(1, len(wanted) // 10)
    out: list[tuple[str, float, EdgeInfo]] = []
    for rank, (key, score) in enumerate(wanted):
        copies = 2 if rank < hot and len(edges) > 1 else 1
        for edge in rendezvous_rank(stable_hash(key), edges)[:copies]:
            out.append((key, score, edge))
    return out


def plan_site(
    *,
    site: Site,
    scores: dict[str, float],
    keys: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Choose the site's most wanted keys and the edges to hold them (`assign_edges`); returns
    the EdgeContent ids still to pre-fetch, hottest first (`plan_window` says what is left out
    and what is fetched again). For a site without recent pin lists (`warm`)."""
    keys = settings.CDN_WARM_KEYS_PER_SITE if keys is None else keys
    wanted = assign_edges(scores, edge_infos(list(site.edges.all())), keys=keys)
    return plan_window(
        site=site,
        wanted=((key, score, info.id) for key, score, info in wanted),
        opened=fill_opened(site, now or timezone.now()),
    )


def online_pin_lists(site: Site, pinned: dict[int, list[str]]) -> dict[int, list[str]]:
    """The pin lists (edge id → keys) of the site's edges that warming plans (`edge_infos`:
    online ones), in their order."""
    return {i.id: pinned[i.id] for i in edge_infos(list(site.edges.all())) if i.id in pinned}


def plan_site_pins(
    *, site: Site, pinned: dict[int, list[str]], now: datetime | None = None
) -> list[int]:
    """Plan each online edge's own pin list (edge id → keys, hottest first, as `cdn_edge_lists`
    recorded it) on that edge; returns the EdgeContent ids still to pre-fetch, hottest first:
    every edge's first key, then every edge's second, and so on.

    The lists were placed on the site's edges when they were decided (`cdn.admission.place`,
    the steering hash), so no `assign_edges` here. A row's score is its key's place from the
    tail of its list, so an edge's rows sort as its list does. What the window's fetches put
    on an edge bounds it as in `plan_site` (`plan_window`)."""
    lists = online_pin_lists(site, pinned)
    wanted = sorted(
        (rank, order, key, float(len(keys) - rank))
        for order, keys in enumerate(lists.values())
        for rank, key in enumerate(keys)
    )
    edge_ids = list(lists)
    return plan_window(
        site=site,
        wanted=((key, score, edge_ids[order]) for _, order, key, score in wanted),
        opened=fill_opened(site, now or timezone.now()),
    )


def plan_window(
    *, site: Site, wanted: Iterable[tuple[str, float, int]], opened: datetime
) -> list[int]:
    """Plan `(content key, score, edge id)`, in order, for the fill window `opened` then;
    returns the EdgeContent ids still to pre-fetch. Edges stop taking new keys when what this
    fill window has put on them reaches their cache size.

    A key fetched in an earlier fill window is fetched again in this one, once (planning again
    after it is done in this window leaves it alone): what the edge still holds of it is a hit
    that moves it to the head of nginx's LRU queue, what the edge evicted since is filled
    again. Without that, an edge kept a planned title's files at the place in the queue of the
    day they were first fetched, and the day's new keys pushed out files still planned before
    files no longer wanted; and a key evicted since was never filled again. The simulator's
    fill does the same (`cdn.edge_replay.replay_edge_policy`).
    """
    edges = {e.id: e for e in site.edges.all()}
    held: dict[int, int] = defaultdict(int)
    for edge_id, done in EdgeContent.objects.filter(
        edge__site=site, updated_at__gte=opened
    ).values_list("edge_id", "bytes_done"):
        held[edge_id] += done
    rows = edge_contents_plan(
        (
            (edge_id, key, score)
            for key, score, edge_id in wanted
            if held[edge_id] < edges[edge_id].cache_bytes
        ),
        refresh_before=opened,
    )
    return [row.pk for row in rows if row.status != EdgeContent.Status.DONE]


def sites_to_warm(*, now: datetime) -> list[Site]:
    return [
        s for s in Site.objects.prefetch_related("edges").order_by("id") if in_fill_window(s, now)
    ]


# --- Pre-fetching -----------------------------------------------------------------------------


def playlist_children(text: str) -> list[str]:
    """Relative URIs a playlist names: its non-comment lines and URI="..." attributes."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            marker = 'URI="'
            if marker in line:
                out.append(line.split(marker, 1)[1].split('"', 1)[0])
            continue
        out.append(line)
    return [u for u in out if "://" not in u and not u.startswith("/") and ".." not in u.split("/")]


class Fetched(NamedTuple):
    status: int
    body: bytes  # a playlist's text; nothing for a HEAD
    cache_status: str  # the edge's X-Cache-Status
    size: int  # the file's bytes: Content-Length, else the body's length


def fetch(url: str, *, timeout: float = 10.0, head: bool = False) -> Fetched:
    """One file through an edge. With `head`, a HEAD: the edge looks it up as it would a GET
    (nginx's `proxy_cache_convert_head`, on by default), so a miss is fetched from the origin
    and stored there, but no byte of it comes to the warmer."""
    request = urllib.request.Request(  # noqa: S310 - edge base URLs are http(s) by validation
        url, headers={"User-Agent": WARMER_AGENT}, method="HEAD" if head else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = b"" if head else response.read()
            length = response.headers.get("Content-Length", "")
            return Fetched(
                response.status,
                body,
                response.headers.get("X-Cache-Status", ""),
                int(length) if length.isdigit() else len(body),
            )
    except urllib.error.HTTPError as exc:
        status = exc.headers.get("X-Cache-Status", "") if exc.headers else ""
        return Fetched(exc.code, b"", status, 0)


def claim(row_id: int, *, now: datetime) -> EdgeContent | None:
    """Take the row for this worker: pending, or filling with an expired lease."""
    claimed = (
        EdgeContent.objects.filter(pk=row_id)
        .filter(
            Q(status=EdgeContent.Status.PENDING)
            | Q(status=EdgeContent.Status.FAILED)
            | Q(status=EdgeContent.Status.FILLING, updated_at__lt=now - LEASE)
        )
        .update(status=EdgeContent.Status.FILLING, updated_at=now)
    )
    if claimed != 1:
        return None
    return EdgeContent.objects.select_related("edge").get(pk=row_id)


def prefetch(
    *,
    row_id: int,
    budget: int | None = None,
    now: Callable[[], datetime] = timezone.now,
    fetcher: Callable[..., Fetched] = fetch,
) -> str:
    """Fetch up to `budget` files of one planned key through its edge: the playlists with a GET
    (their text names the other files), every other file with a HEAD (the edge stores it; no
    video byte goes through the warmer).

    Returns "done", "more" (call again: progress is saved after every file, so a crash resumes
    where it stopped), "busy" (another worker holds it) or "failed".
    """
    budget = budget or settings.CDN_WARM_FILES_PER_RUN
    row = claim(row_id, now=now())
    if row is None:
        return "busy"
    edge = row.edge
    queue: list[str] = list(row.queue) if row.files_done or row.queue else ["master.m3u8"]
    seen: set[str] = set(queue)
    statuses: list[str] = []
    files, size = row.files_done, row.bytes_done
    expires = now() + timedelta(hours=1)
    result = "done"
    fetched = 0
    while queue:
        if fetched >= budget:
            result = "more"
            break
        name = queue.pop(0)
        url = signed_url(edge.base_url, row.content_key, name, expires_at=expires)
        try:
            status, body, cache_status, nbytes = fetcher(url, head=not name.endswith(".m3u8"))
        except OSError as exc:
            result = "failed"
            row.last_error = f"{name}: {exc}"[:255]
            queue.insert(0, name)
            break
        fetched += 1
        if status != 200:
            result = "failed"
            row.last_error = f"{name}: HTTP {status}"[:255]
            queue.insert(0, name)
            break
        statuses.append(cache_status)
        files += 1
        size += nbytes
        if name.endswith(".m3u8"):
            base = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
            for child in playlist_children(body.decode("utf-8", "replace")):
                full = base + child
                if full not in seen and len(seen) < MAX_FILES_PER_KEY:
                    seen.add(full)
                    queue.append(full)
        EdgeContent.objects.filter(pk=row.pk).update(
            queue=queue, files_done=files, bytes_done=size, updated_at=now()
        )
    final = {
        "done": EdgeContent.Status.DONE,
        "more": EdgeContent.Status.PENDING,
        "failed": EdgeContent.Status.FAILED,
    }[result]
    EdgeContent.objects.filter(pk=row.pk).update(
        status=final,
        queue=queue,
        files_done=files,
        bytes_done=size,
        last_error=row.last_error if result == "failed" else "",
        updated_at=now(),
    )
    edge_count_cache_status(edge_id=edge.pk, statuses=statuses)
    return result


def warm(*, now: datetime | None = None, sites: list[Site] | None = None) -> dict[str, Any]:
    """Plan every site inside its fill window; returns {site: [EdgeContent ids]} to pre-fetch.

    A site whose online edges have a pin list `cdn_edge_lists` decided within
    `CDN_WARM_PIN_LISTS_MAX_AGE` seconds fills those lists (`plan_site_pins`): what the edges
    pin is what is pre-filled. Any other site gets the demand provider's top keys
    (`plan_site`)."""
    now = now or timezone.now()
    sites = sites_to_warm(now=now) if sites is None else sites
    if not sites:
        return {}
    max_age = settings.CDN_WARM_PIN_LISTS_MAX_AGE
    fresh = (
        pin_lists_since(site_ids=[s.pk for s in sites], since=now - timedelta(seconds=max_age))
        if max_age
        else {}
    )
    demand: Demand | None = None
    planned: dict[str, Any] = {}
    for site in sites:
        pinned = online_pin_lists(site, fresh.get(site.pk, {}))
        if pinned:
            planned[site.name] = plan_site_pins(site=site, pinned=pinned, now=now)
            continue
        if demand is None:
            demand = demand_provider()(now=now)
        planned[site.name] = plan_site(site=site, scores=demand.get(site.name, {}), now=now)
    return planned
