"""The in-memory topology steering runs on: sites, edges, coverage zones, health. No queries."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EARTH_RADIUS_KM = 6371.0


@dataclass(eq=False)
class EdgeInfo:
    id: int
    name: str
    site_id: int
    base_url: str
    weight: float = 1.0
    capacity: int = 1000
    admin_state: str = "online"
    salt: int = 0


@dataclass
class SiteInfo:
    id: int
    name: str
    country: str
    latitude: float
    longitude: float
    backups: tuple[int, ...] = ()
    edges: list[EdgeInfo] = field(default_factory=list)
    # Other sites, nearest first, and the full try-order: itself, backups, neighbours.
    neighbours: tuple[int, ...] = ()
    order: tuple[int, ...] = ()


@dataclass
class EdgeHealth:
    up: bool = True
    load: float = 0.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _mix64(x: int) -> int:
    # splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer.
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def stable_hash(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class CoverageIndex:
    """Longest-prefix match over CIDRs: one dict per prefix length, longest lengths first."""

    def __init__(self, zones: Iterable[tuple[str, int]] = ()) -> None:
        self._tables: dict[int, list[tuple[int, int, dict[int, int]]]] = {4: [], 6: []}
        by_len: dict[tuple[int, int], dict[int, int]] = {}
        self.size = 0
        for cidr, site_id in zones:
            net = ipaddress.ip_network(cidr, strict=False)
            by_len.setdefault((net.version, net.prefixlen), {})[int(net.network_address)] = site_id
            self.size += 1
        for (version, plen), table in sorted(by_len.items(), key=lambda kv: -kv[0][1]):
            bits = 32 if version == 4 else 128
            mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
            self._tables[version].append((plen, mask, table))

    def lookup(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int | None:
        return self.lookup_value(addr.version, int(addr))

    def lookup_value(self, version: int, value: int) -> int | None:
        """`lookup` of an address given as its IP version and integer value."""
        for _plen, mask, table in self._tables[version]:
            site_id = table.get(value & mask)
            if site_id is not None:
                return site_id
        return None


class Snapshot:
    """Immutable view of the topology plus one health version."""

    def __init__(
        self,
        *,
        sites: list[SiteInfo],
        zones: Iterable[tuple[str, int]] = (),
        country_defaults: dict[str, int] | None = None,
        global_default: int | None = None,
        health: dict[int, EdgeHealth] | None = None,
        config_version: Any = 0,
        health_version: Any = 0,
    ) -> None:
        self.sites = {s.id: s for s in sites}
        self.edges = {e.id: e for s in sites for e in s.edges}
        for edge in self.edges.values():
            edge.salt = stable_hash(edge.name)
        self.coverage = CoverageIndex(zones)
        self.country_defaults = country_defaults or {}
        self.global_default = global_default
        self.health = health or {}
        self.config_version = config_version
        self.health_version = health_version
        for site in sites:
            others = [o for o in sites if o.id != site.id]
            lat, lon = site.latitude, site.longitude
            others.sort(key=lambda o: great_circle_km(lat, lon, o.latitude, o.longitude))
            site.neighbours = tuple(o.id for o in others)
            order = [site.id]
            for sid in (*site.backups, *site.neighbours):
                if sid not in order and sid in self.sites:
                    order.append(sid)
            site.order = tuple(order)
        self._geo_cache: dict[tuple[float, float], int] = {}

    def with_health(self, health: dict[int, EdgeHealth], version: Any) -> Snapshot:
        clone = object.__new__(Snapshot)
        clone.__dict__.update(self.__dict__)
        clone.health = health
        clone.health_version = version
        return clone

    def nearest_site(self, latitude: float, longitude: float) -> int | None:
        key = (round(latitude, 1), round(longitude, 1))
        cached = self._geo_cache.get(key)
        if cached is not None:
            return cached
        best: tuple[float, int] | None = None
        for site in self.sites.values():
            if not site.edges:
                continue
            d = great_circle_km(latitude, longitude, site.latitude, site.longitude)
            if best is None or d < best[0]:
                best = (d, site.id)
        if best is None:
            return None
        if len(self._geo_cache) < 100_000:
            self._geo_cache[key] = best[1]
        return best[1]

    def edge_health(self, edge_id: int) -> EdgeHealth:
        return self.health.get(edge_id) or _DEFAULT_HEALTH


_DEFAULT_HEALTH = EdgeHealth()
