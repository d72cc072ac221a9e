"""Request steering: where should this client fetch this content key from, ranked."""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from cdn.snapshot import EdgeInfo, Snapshot, _mix64, stable_hash
from streamsite.errors import ValidationFailed

if TYPE_CHECKING:
    from django.db.models import Model

log = logging.getLogger(__name__)

COVERAGE_ZONE = "coverage_zone"
GEO = "geo"
COUNTRY_DEFAULT = "country_default"
GLOBAL_DEFAULT = "global_default"
NONE = "none"

_TWO64 = float(1 << 64)


@dataclass(frozen=True)
class SteeringDecision:
    id: uuid.UUID
    client_ip: str
    country: str | None
    content_key: str
    located_by: str  # coverage_zone | geo | country_default | global_default | none
    site: str | None  # the site the client was located to
    urls: list[str]  # ranked edge base URLs, origin last
    edges: list[str] = field(default_factory=list)  # edge names, in the same order
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "client_ip": self.client_ip,
            "country": self.country,
            "content_key": self.content_key,
            "located_by": self.located_by,
            "site": self.site,
            "urls": self.urls,
            "edges": self.edges,
            "reasons": self.reasons,
        }


def rendezvous_rank(key_hash: int, edges: list[EdgeInfo]) -> list[EdgeInfo]:
    """Weighted rendezvous (highest random weight): score = -weight / ln(u(key, edge))."""
    scored = []
    for edge in edges:
        u = (_mix64(key_hash ^ edge.salt) + 0.5) / _TWO64
        scored.append((-edge.weight / math.log(u), -edge.id, edge))
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [t[2] for t in scored]


class GeoLocator:
    """MaxMind-format database lookups: (latitude, longitude, country) or None."""

    def __init__(self, path: str) -> None:
        import maxminddb

        self.reader = maxminddb.open_database(path)

    def locate(self, ip: str) -> tuple[float | None, float | None, str | None] | None:
        try:
            record = self.reader.get(ip)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        location: Any = record.get("location") or {}
        lat, lon = location.get("latitude"), location.get("longitude")
        country: Any = (record.get("country") or {}).get("iso_code")  # type: ignore[union-attr]
        if lat is None or lon is None:
            return (None, None, str(country)) if country else None
        return float(lat), float(lon), str(country) if country else None


class Steerer:
    """Steering over one snapshot at a time; the snapshot is swapped, never mutated."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        origin_url: str,
        geo: GeoLocator | None = None,
        bounded_load: float = 1.25,
        load_floor: float = 0.2,
        assigned_window: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.snapshot = snapshot
        self.origin_url = origin_url
        self.geo = geo
        self.bounded_load = bounded_load
        # Below this load an edge keeps its keys whatever its neighbours carry: spreading a
        # title only pays once an edge is busy, and every spill is a colder cache.
        self.load_floor = load_floor
        # Sessions handed out since the last load reading, per edge: the bounded-load rule uses
        # them so a burst on one hot key spreads before the poller sees the load. They start
        # again with every new health version, and at least every `assigned_window` seconds:
        # the poller publishes only when something changed, and by then the edge's own load
        # figure already counts those sessions (otherwise a steady, lightly loaded edge would
        # pile up counts and lose its keys to its neighbours).
        self.assigned: dict[int, int] = {}
        self._assigned_version: Any = None
        self.assigned_window = assigned_window
        self._clock = clock
        self._assigned_since = clock()
        self._rank_cache: dict[tuple[int, int], list[EdgeInfo]] = {}

    def use_clock(self, clock: Callable[[], float], *, assigned_window: float) -> None:
        """Drive the assignment window from another clock (the simulator replays trace time)."""
        self._clock = clock
        self.assigned_window = assigned_window
        self.assigned = {}
        self._assigned_since = clock()

    def locate(
        self,
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
        country: str | None,
        *,
        explain: bool = True,
    ) -> tuple[int | None, str, list[str]]:
        """The client's site, how it was found, and why (without `explain`, as the simulator
        asks for 100,000s of clients, the reasons naming the address are left out)."""
        snap = self.snapshot
        site_id = snap.coverage.lookup(addr)
        if site_id is not None:
            why = [f"{addr} is in a coverage zone of this site"] if explain else []
            return site_id, COVERAGE_ZONE, why
        if self.geo is not None:
            found = self.geo.locate(str(addr))
            if found is not None:
                lat, lon, geo_country = found
                site_id = None if lat is None or lon is None else snap.nearest_site(lat, lon)
                if site_id is not None:
                    why = [f"GeoIP puts {addr} at {lat:.2f},{lon:.2f}: nearest"] if explain else []
                    return site_id, GEO, why
                country = country or geo_country
        if country and country.upper() in snap.country_defaults:
            return (
                snap.country_defaults[country.upper()],
                COUNTRY_DEFAULT,
                [f"default site for country {country.upper()}"],
            )
        if snap.global_default is not None:
            return snap.global_default, GLOBAL_DEFAULT, ["global default site"]
        if snap.sites:
            first = min(snap.sites)
            return first, GLOBAL_DEFAULT, ["no default configured: first site"]
        return None, NONE, ["no sites configured"]

    def load_never_matters(self, sessions: int) -> bool:
        """Whether the bounded-load rule stays out of every choice while at most `sessions` are
        handed out: each edge's load reading plus all of them stays within the load floor, so
        `choose` ranks by the rendezvous hash alone and its first choice depends only on the
        located site and the key (the simulator then works it out once per pair)."""
        health = self.snapshot.health
        for edge in self.snapshot.edges.values():
            h = health.get(edge.id)
            load = (h.load if h is not None else 0.0) + sessions / (edge.capacity or 1)
            if not (load <= self.load_floor and load < 1.0):
                return False
        return True

    def _ranked(self, site_id: int, key_hash: int, edges: list[EdgeInfo]) -> list[EdgeInfo]:
        """The site's edges in rendezvous order for this key, memoised: the order depends only
        on configuration (names, weights), and popular keys repeat."""
        cache_key = (site_id, key_hash)
        ranked = self._rank_cache.get(cache_key)
        if ranked is None:
            if len(self._rank_cache) >= 200_000:
                self._rank_cache.clear()
            ranked = rendezvous_rank(key_hash, edges)
            self._rank_cache[cache_key] = ranked
        return ranked

    def _pick_in_site(
        self, key_hash: int, site_id: int, edges: list[EdgeInfo], taken: set[int]
    ) -> list[EdgeInfo]:
        """Edges of one site in preference order, the bounded-load rule applied."""
        health = self.snapshot.health
        assigned = self.assigned
        eligible: list[tuple[EdgeInfo, float]] = []
        for e in self._ranked(site_id, key_hash, edges):
            if e.admin_state != "online" or e.id in taken:
                continue
            h = health.get(e.id)
            if h is not None and not h.up:
                continue
            load = (h.load if h is not None else 0.0) + assigned.get(e.id, 0) / (e.capacity or 1)
            eligible.append((e, load))
        if not eligible:
            return []
        first_load = eligible[0][1]
        if first_load <= self.load_floor and first_load < 1.0:
            return [e for e, _ in eligible]  # the usual case: the first choice is not busy
        mean = sum(load for _, load in eligible) / len(eligible)
        bound = max(self.bounded_load * mean, self.load_floor)
        under = [e for e, load in eligible if load < 1.0 and load <= bound]
        over = [e for e, load in eligible if not (load < 1.0 and load <= bound)]
        return under + over

    def choose(
        self,
        site_id: int | None,
        content_key: str,
        *,
        count: int = 1,
        reasons: list[str] | None = None,
        key_hash: int | None = None,
    ) -> list[EdgeInfo]:
        """The `count` edges for this key from a located site, first choice first, and counts
        the session against the first (what `steer` does once the client is located; the
        simulator calls it directly, with the key's `stable_hash` worked out once)."""
        reasons = [] if reasons is None else reasons
        snap = self.snapshot
        now = self._clock()
        elapsed = now - self._assigned_since
        if self._assigned_version != snap.health_version or elapsed >= self.assigned_window:
            self.assigned = {}
            self._assigned_version = snap.health_version
            # Windows keep their boundaries (since + k x window), whenever the next call comes.
            windows_passed = elapsed >= self.assigned_window
            self._assigned_since = now - elapsed % self.assigned_window if windows_passed else now
        chosen: list[EdgeInfo] = []
        if site_id is not None:
            if key_hash is None:
                key_hash = stable_hash(content_key)
            order = snap.sites[site_id].order
            taken: set[int] = set()
            leftovers: list[EdgeInfo] = []
            for sid in order:
                if len(chosen) >= count:
                    break
                ranked = self._pick_in_site(key_hash, sid, snap.sites[sid].edges, taken)
                if not ranked:
                    continue
                chosen.append(ranked[0])
                taken.add(ranked[0].id)
                leftovers.extend(ranked[1:])
            # Fewer healthy sites than asked for: more edges from the sites already used.
            for edge in leftovers:
                if len(chosen) >= count:
                    break
                chosen.append(edge)
            if chosen:
                self.assigned[chosen[0].id] = self.assigned.get(chosen[0].id, 0) + 1
                if chosen[0].site_id != site_id:
                    reasons.append("located site has no healthy edge with capacity")
            elif any(snap.sites[s].edges for s in snap.sites):
                # Everything is down or drained: better a possibly-stale edge than nothing.
                fallback = [e for s in order for e in snap.sites[s].edges]
                fallback = [e for e in fallback if e.admin_state != "offline"] or fallback
                chosen = rendezvous_rank(key_hash, fallback)[:count]
                reasons.append("no healthy edge: falling back to configured edges")
        return chosen

    def steer(
        self,
        *,
        client_ip: str,
        content_key: str,
        country: str | None = None,
        count: int = 3,
        site_hint: int | None = None,
    ) -> SteeringDecision:
        try:
            addr = ipaddress.ip_address(client_ip)
        except ValueError:
            raise ValidationFailed(
                "Not an IP address.", extra={"fields": {"client_ip": ["Not an IP address."]}}
            ) from None
        if count < 1 or count > 10:
            raise ValidationFailed(
                "count must be between 1 and 10.", extra={"fields": {"count": ["1 to 10."]}}
            )
        snap = self.snapshot
        site_id: int | None
        if site_hint is not None and site_hint in snap.sites:
            site_id, located_by, reasons = site_hint, "region", ["region named by the caller"]
        else:
            site_id, located_by, reasons = self.locate(addr, country)
        chosen = self.choose(site_id, content_key, count=count, reasons=reasons)
        urls = [e.base_url for e in chosen] + [self.origin_url]
        return SteeringDecision(
            id=uuid.uuid4(),
            client_ip=str(addr),
            country=country.upper() if country else None,
            content_key=content_key,
            located_by=located_by,
            site=snap.sites[site_id].name if site_id is not None else None,
            urls=urls,
            edges=[e.name for e in chosen] + ["origin"],
            reasons=reasons,
        )


# --- The process-wide steerer, refreshed from the store ---------------------------------------


class Holder:
    """Keeps the current Steerer; checks the store's versions at most every refresh interval."""

    def __init__(
        self,
        *,
        build: Callable[[], Snapshot],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build = build
        self.clock = clock
        self.steerer: Steerer | None = None
        self.checked_at = -math.inf
        self.lock = threading.Lock()

    def get(self) -> Steerer:
        from cdn.health import get_store

        now = self.clock()
        steerer = self.steerer
        if steerer is not None and now - self.checked_at < settings.CDN_REFRESH_SECONDS:
            return steerer
        with self.lock:
            if self.steerer is not None and now - self.checked_at < settings.CDN_REFRESH_SECONDS:
                return self.steerer
            self.checked_at = now
            store = get_store()
            try:
                config_version, health_version = store.versions()
            except Exception:  # noqa: BLE001 - health store away: keep the last snapshot
                log.warning("cdn health store unreachable; steering on the last snapshot")
                if self.steerer is not None:
                    return self.steerer
                config_version, health_version = None, None
            current = self.steerer
            if current is None or current.snapshot.config_version != config_version:
                snapshot = self.build()
                snapshot.config_version = config_version
                current = Steerer(
                    snapshot,
                    origin_url=settings.CDN_ORIGIN_URL,
                    geo=_geo(),
                    bounded_load=settings.CDN_BOUNDED_LOAD,
                    load_floor=settings.CDN_BOUNDED_LOAD_FLOOR,
                    assigned_window=2 * settings.CDN_HEALTH_INTERVAL,
                )
                health_changed = True
            else:
                health_changed = current.snapshot.health_version != health_version
            if health_changed and health_version is not None:
                try:
                    version, health = store.read_health()
                    current.snapshot = current.snapshot.with_health(health, version)
                except Exception:  # noqa: BLE001
                    log.warning("cdn health store unreachable; keeping the last health")
            self.steerer = current
            return current

    def reset(self) -> None:
        with self.lock:
            self.steerer = None
            self.checked_at = -math.inf


_geo_cache: dict[str, GeoLocator] = {}


def _geo() -> GeoLocator | None:
    path = settings.CDN_GEOIP_PATH
    if not path:
        return None
    if path not in _geo_cache:
        _geo_cache[path] = GeoLocator(path)
    return _geo_cache[path]


def _build_from_db() -> Snapshot:
    from cdn.selectors import snapshot_from_db

    return snapshot_from_db()


holder = Holder(build=_build_from_db)


def steer(
    *,
    client_ip: str,
    content_key: str,
    country: str | None = None,
    count: int = 3,
    record: bool = True,
) -> SteeringDecision:
    """Ranked edge base URLs for this client and content key, origin last; recorded, unless
    `record` is False: then the caller records it with `decision_keep` (playback does, inside
    the transaction that claims the stream, so a start commits once)."""
    from cdn.signing import validate_prefix

    validate_prefix(content_key)
    decision = holder.get().steer(
        client_ip=client_ip, content_key=content_key, country=country, count=count
    )
    if record:
        decision_keep(decision)
    return decision


def decision_keep(decision: SteeringDecision) -> None:
    """Record a decision for analytics (CDN_RECORD_DECISIONS; cdn.services.decision_record)."""
    if settings.CDN_RECORD_DECISIONS:
        from cdn.services import decision_record

        decision_record(decision=decision)


def decision_row_now(decision: SteeringDecision) -> Model | None:
    """The unsaved play-log row of a decision, when `decision_keep` would insert it at once
    (CDN_RECORD_DECISIONS, CDN_DECISION_BATCH 1): a caller may insert it with its own
    statements instead. None when the decision is not recorded, or is buffered: the caller then
    calls `decision_keep` as usual."""
    if not settings.CDN_RECORD_DECISIONS or settings.CDN_DECISION_BATCH > 1:
        return None
    from cdn.services import decision_row

    return decision_row(decision=decision)
