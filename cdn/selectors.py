"""Reads of the cdn app: the steering snapshot, topology for staff, demand from decisions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Func, IntegerField, QuerySet

from cdn.models import (
    CountryDefault,
    CoverageZone,
    Edge,
    EdgeContent,
    EdgeMode,
    EdgePinList,
    Site,
    SteeringDecision,
)
from cdn.snapshot import EdgeHealth, EdgeInfo, SiteInfo, Snapshot


def snapshot_from_db() -> Snapshot:
    """Everything steering needs, in four queries; health starts from the poller's last DB copy."""
    sites = list(Site.objects.prefetch_related("backups").order_by("id"))
    edges = list(Edge.objects.order_by("id"))
    infos = {
        s.id: SiteInfo(
            id=s.id,
            name=s.name,
            country=s.country,
            latitude=s.latitude,
            longitude=s.longitude,
            backups=tuple(b.id for b in sorted(s.backups.all(), key=lambda b: b.name)),
        )
        for s in sites
    }
    health: dict[int, EdgeHealth] = {}
    for e in edges:
        infos[e.site_id].edges.append(
            EdgeInfo(
                id=e.id,
                name=e.name,
                site_id=e.site_id,
                base_url=e.base_url,
                weight=e.weight,
                capacity=e.capacity,
                admin_state=e.admin_state,
            )
        )
        health[e.id] = EdgeHealth(up=e.healthy, load=e.load)
    zones = CoverageZone.objects.values_list("cidr", "site_id")
    defaults = dict(CountryDefault.objects.values_list("country", "site_id"))
    global_default = next((s.id for s in sites if s.is_global_default), None)
    return Snapshot(
        sites=list(infos.values()),
        zones=zones,
        country_defaults=defaults,
        global_default=global_default,
        health=health,
    )


def site_list() -> QuerySet[Site]:
    return Site.objects.prefetch_related("edges", "backups").order_by("name")


def edge_contents(*, edge: Edge) -> QuerySet[EdgeContent]:
    return EdgeContent.objects.filter(edge=edge).order_by("-score", "content_key")


def decisions_since(*, since: datetime) -> QuerySet[SteeringDecision]:
    return SteeringDecision.objects.filter(created_at__gte=since)


def recorded_sessions(*, since: datetime) -> Iterator[tuple[float, str, str]]:
    """`(epoch seconds, site name, content key)` of every play steered since `since`, oldest
    first: the recorded decisions are the CDN's own request log."""
    rows = (
        SteeringDecision.objects.filter(created_at__gte=since)
        .exclude(site_name="")
        .order_by("created_at", "id")
        .values_list("created_at", "site_name", "content_key")
    )
    for at, site, key in rows.iterator(chunk_size=5000):
        yield at.timestamp(), site, key


def pin_lists_since(*, site_ids: list[int], since: datetime) -> dict[int, dict[int, list[str]]]:
    """Per site, {edge id: pinned keys, hottest first} of its edges whose pin list
    `cdn_edge_lists` decided at or after `since`; sites without one are left out. Which edges
    warming plans is `cdn.warming.online_pin_lists`' rule, not this one's."""
    rows = EdgePinList.objects.filter(
        edge__site_id__in=site_ids, decided_at__gte=since
    ).values_list("edge__site_id", "edge_id", "keys")
    out: dict[int, dict[int, list[str]]] = {}
    for site_id, edge_id, keys in rows:
        out.setdefault(site_id, {})[edge_id] = list(keys)
    return out


class JSONArrayLength(Func):
    """The length of a JSON array column, counted by the database (the list stays there)."""

    function = "json_array_length"  # SQLite's JSON1
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra_context)


def touch_list_sizes(*, names: list[str]) -> dict[str, int]:
    """Per edge named that has a per-edge mode row, how many files its touch list names."""
    rows = (
        EdgeMode.objects.filter(edge__name__in=names)
        .annotate(size=JSONArrayLength("touch_keys"))
        .values_list("edge__name", "size")
    )
    return {name: size for name, size in rows}
