"""Localisation golden table, ranking, health and drain, snapshot refresh, no queries."""

from __future__ import annotations

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from cdn import health as health_module
from cdn.models import CountryDefault, Edge, SteeringDecision
from cdn.services import coverage_zones_import, edge_set_admin_state
from cdn.snapshot import EdgeHealth
from cdn.steering import Holder, holder, steer
from tests.cdn.factories import EdgeFactory, SiteFactory

KEY = "hls/0b4f7d1e/v1/"

SITES = {
    "nyc": (40.71, -74.0, "US"),
    "chi": (41.88, -87.63, "US"),
    "lon": (51.51, -0.13, "GB"),
    "fra": (50.11, 8.68, "DE"),
    "syd": (-33.87, 151.21, "AU"),
}


@pytest.fixture
def geoip(tmp_path, settings):
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {"country": {"iso_code": "GB"}, "location": {"latitude": 51.5, "longitude": -0.12}},
    )
    writer.insert_network(
        IPSet(["2a02:ff00::/32"]),
        {"country": {"iso_code": "DE"}, "location": {"latitude": 52.52, "longitude": 13.4}},
    )
    writer.insert_network(
        IPSet(["89.160.20.0/24"]), {"country": {"iso_code": "AU"}}
    )  # a country but no coordinates
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    settings.CDN_GEOIP_PATH = str(path)
    return path


@pytest.fixture
def world(db, settings):
    settings.CDN_ORIGIN_URL = "https://origin.example/media/"
    sites = {}
    for name, (lat, lon, country) in SITES.items():
        sites[name] = SiteFactory(
            name=name,
            latitude=lat,
            longitude=lon,
            country=country,
            is_global_default=name == "nyc",
        )
        for i in (1, 2):
            EdgeFactory(site=sites[name], name=f"{name}-{i}")
    coverage_zones_import(
        data={
            "coverageZones": {
                "chi": {"network": ["198.51.100.0/24"]},
                "nyc": {"network": ["198.51.100.128/25"]},
                "lon": {"network6": ["2001:db8:1::/48"]},
            }
        }
    )
    CountryDefault.objects.create(country="AU", site=sites["syd"])
    holder.reset()
    return sites


GOLDEN = [
    ("198.51.100.7", None, "coverage_zone", "chi"),
    ("198.51.100.200", None, "coverage_zone", "nyc"),  # the longer prefix wins
    ("2001:db8:1::5", None, "coverage_zone", "lon"),
    ("81.2.69.5", None, "geo", "lon"),
    ("2a02:ff00::1", None, "geo", "fra"),  # Berlin: Frankfurt is nearer than London
    ("89.160.20.9", None, "country_default", "syd"),  # GeoIP knows only the country
    ("203.0.113.5", "AU", "country_default", "syd"),
    ("203.0.113.5", "au", "country_default", "syd"),
    ("203.0.113.5", None, "global_default", "nyc"),
    ("203.0.113.5", "FR", "global_default", "nyc"),
    ("2001:db8:2::1", None, "global_default", "nyc"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("ip", "country", "located_by", "site"), GOLDEN)
def test_localisation_golden_table(world, geoip, ip, country, located_by, site):
    decision = steer(client_ip=ip, content_key=KEY, country=country)
    assert (decision.located_by, decision.site) == (located_by, site)


@pytest.mark.django_db
def test_without_geoip_unknown_networks_fall_to_the_defaults(world):
    decision = steer(client_ip="81.2.69.5", content_key=KEY)
    assert (decision.located_by, decision.site) == ("global_default", "nyc")


@pytest.mark.django_db
def test_ranked_urls_are_distinct_sites_nearest_first_origin_last(world):
    decision = steer(client_ip="198.51.100.7", content_key=KEY)
    sites = [name.rsplit("-", 1)[0] for name in decision.edges[:-1]]
    assert sites == ["chi", "nyc", "lon"]
    assert decision.edges[-1] == "origin"
    assert decision.urls[-1] == "https://origin.example/media/"
    assert decision.urls[:-1] == [f"http://{e}.cdn.example/" for e in decision.edges[:-1]]


@pytest.mark.django_db
def test_explicit_backup_comes_before_next_closest(world):
    world["chi"].backups.add(world["syd"])
    holder.reset()
    decision = steer(client_ip="198.51.100.7", content_key=KEY)
    assert [e.rsplit("-", 1)[0] for e in decision.edges] == ["chi", "syd", "nyc", "origin"]


@pytest.mark.django_db
def test_a_titles_files_stay_on_one_edge_and_decisions_are_recorded(world):
    first = steer(client_ip="198.51.100.7", content_key=KEY)
    again = steer(client_ip="198.51.100.9", content_key=KEY)
    assert first.edges == again.edges
    row = SteeringDecision.objects.get(pk=first.id)
    assert (row.located_by, row.site_name, row.content_key, row.client_ip) == (
        "coverage_zone",
        "chi",
        KEY,
        "198.51.100.7",
    )
    assert row.urls == first.urls
    assert SteeringDecision.objects.count() == 2


@pytest.mark.django_db
def test_one_site_with_two_edges_still_gives_two_distinct_edges(db, settings):
    site = SiteFactory(name="solo", is_global_default=True)
    EdgeFactory(site=site, name="solo-1")
    EdgeFactory(site=site, name="solo-2")
    decision = steer(client_ip="203.0.113.1", content_key=KEY, count=3)
    assert sorted(decision.edges[:-1]) == ["solo-1", "solo-2"]
    assert decision.edges[-1] == "origin"


@pytest.mark.django_db
def test_no_edges_configured_returns_only_the_origin(db, settings):
    settings.CDN_ORIGIN_URL = "/media/"
    decision = steer(client_ip="203.0.113.1", content_key=KEY)
    assert (decision.urls, decision.located_by, decision.site) == (["/media/"], "none", None)


@pytest.mark.django_db
def test_drained_edge_gets_no_new_sessions(world, django_capture_on_commit_callbacks):
    before = steer(client_ip="198.51.100.7", content_key=KEY)
    drained = Edge.objects.get(name=before.edges[0])
    with django_capture_on_commit_callbacks(execute=True):
        edge_set_admin_state(edge=drained, admin_state="drain")
    for i in range(20):
        decision = steer(client_ip="198.51.100.7", content_key=f"hls/k{i}/v1/")
        assert drained.name not in decision.edges
    other = {"chi-1": "chi-2", "chi-2": "chi-1"}[drained.name]
    assert steer(client_ip="198.51.100.7", content_key=KEY).edges[0] == other


@pytest.mark.django_db
def test_down_edges_are_skipped_and_a_dead_site_moves_to_the_next(world, cdn_store):
    ids = dict(Edge.objects.values_list("name", "id"))
    cdn_store.publish_health(
        {ids["chi-1"]: EdgeHealth(up=False), ids["chi-2"]: EdgeHealth(up=False)}
    )
    decision = steer(client_ip="198.51.100.7", content_key=KEY)
    assert [e.rsplit("-", 1)[0] for e in decision.edges] == ["nyc", "lon", "fra", "origin"]
    assert decision.site == "chi"
    assert decision.reasons[-1] == "located site has no healthy edge with capacity"


@pytest.mark.django_db
def test_every_edge_down_still_returns_configured_edges(world, cdn_store):
    cdn_store.publish_health(
        {e: EdgeHealth(up=False) for e in Edge.objects.values_list("id", flat=True)}
    )
    decision = steer(client_ip="198.51.100.7", content_key=KEY)
    assert len(decision.urls) == 4
    assert decision.reasons[-1] == "no healthy edge: falling back to configured edges"


@pytest.mark.django_db
def test_health_change_is_picked_up_after_the_refresh_interval(world, cdn_store, settings):
    settings.CDN_REFRESH_SECONDS = 0.25
    now = [100.0]
    local = Holder(build=holder.build, clock=lambda: now[0])
    first = local.get().steer(client_ip="198.51.100.7", content_key=KEY)
    ids = dict(Edge.objects.values_list("name", "id"))
    cdn_store.publish_health({ids[first.edges[0]]: EdgeHealth(up=False)})
    now[0] += 0.1
    assert local.get().steer(client_ip="198.51.100.7", content_key=KEY).edges[0] == first.edges[0]
    now[0] += 0.2
    assert local.get().steer(client_ip="198.51.100.7", content_key=KEY).edges[0] != first.edges[0]


@pytest.mark.django_db
def test_configuration_change_rebuilds_the_snapshot(
    world, cdn_store, django_capture_on_commit_callbacks
):
    assert steer(client_ip="203.0.113.77", content_key=KEY).located_by == "global_default"
    with django_capture_on_commit_callbacks(execute=True):
        coverage_zones_import(data={"coverageZones": {"fra": {"network": ["203.0.113.0/24"]}}})
    decision = steer(client_ip="203.0.113.77", content_key=KEY)
    assert (decision.located_by, decision.site) == ("coverage_zone", "fra")


class BrokenStore:
    def versions(self):
        raise ConnectionError("redis is down")

    def read_health(self):
        raise ConnectionError("redis is down")

    def publish_health(self, health):
        raise ConnectionError("redis is down")

    def bump_config(self):
        raise ConnectionError("redis is down")


@pytest.mark.django_db
def test_unreachable_health_store_keeps_the_last_snapshot(world, settings):
    before = steer(client_ip="198.51.100.7", content_key=KEY)
    health_module._store = BrokenStore()
    after = steer(client_ip="198.51.100.7", content_key=KEY)
    assert after.urls == before.urls


@pytest.mark.django_db
def test_unreachable_store_at_start_still_steers_from_the_database(world):
    health_module._store = BrokenStore()
    holder.reset()
    decision = steer(client_ip="198.51.100.7", content_key=KEY)
    assert decision.edges[0].startswith("chi-")
    assert len(decision.urls) == 4


@pytest.mark.django_db
def test_decisions_run_on_the_snapshot_without_queries(world, django_assert_num_queries, settings):
    steerer = holder.get()
    with django_assert_num_queries(0):
        for i in range(50):
            steerer.steer(client_ip=f"198.51.100.{i}", content_key=f"hls/k{i}/v1/")


@pytest.mark.django_db
def test_bad_input_is_a_validation_error(world):
    from streamsite.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        steer(client_ip="not-an-ip", content_key=KEY)
    assert exc.value.extra == {"fields": {"client_ip": ["Not an IP address."]}}
    with pytest.raises(ValidationFailed):
        steer(client_ip="198.51.100.7", content_key="movies/1")
    with pytest.raises(ValidationFailed):
        steer(client_ip="198.51.100.7", content_key=KEY, count=0)


@pytest.mark.django_db
def test_buffered_recording_writes_in_batches(world, settings):
    from cdn.services import decisions_flush

    settings.CDN_DECISION_BATCH = 3
    settings.CDN_DECISION_FLUSH_SECONDS = 3600
    decisions_flush()
    steer(client_ip="198.51.100.7", content_key=KEY)
    steer(client_ip="198.51.100.8", content_key=KEY)
    assert SteeringDecision.objects.count() == 0
    steer(client_ip="198.51.100.9", content_key=KEY)
    assert SteeringDecision.objects.count() == 3
    steer(client_ip="198.51.100.10", content_key=KEY)
    assert decisions_flush() == 1
    assert SteeringDecision.objects.count() == 4
