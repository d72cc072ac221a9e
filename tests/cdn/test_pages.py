"""Staff pages (sites, where-would-this-IP-go, coverage import) and the demo's signed media."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cdn.models import CoverageZone, EdgeContent, SteeringDecision
from cdn.signing import sign_path
from tests.cdn.factories import EdgeFactory, SiteFactory
from tests.clients import browser_client as login

KEY = "hls/0b4f7d1e/v1/"
PAGES = ["/cdn/sites", "/cdn/where", "/cdn/coverage-import"]


@pytest.fixture
def topology(db):
    site = SiteFactory(name="nyc", is_global_default=True)
    edge = EdgeFactory(site=site, name="nyc-1", hits=3, misses=1)
    EdgeContent.objects.create(
        edge=edge, content_key=KEY, status="done", bytes_done=2048, updated_at=timezone.now()
    )
    return site


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_pages_send_anonymous_and_accounts_to_the_staff_login(client, alice, url):
    for response in (client.get(url), login(alice).get(url)):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_sites_page_shows_health_load_hit_ratio_and_warmed_content(staff, topology):
    html = login(staff).get("/cdn/sites").content.decode()
    assert "nyc-1" in html
    assert "75%" in html  # 3 hits of 4
    assert "2.0\xa0KB" in html


@pytest.mark.django_db
def test_sites_page_empty_state(staff):
    html = login(staff).get("/cdn/sites").content.decode()
    assert "No CDN sites configured" in html


@pytest.mark.django_db
def test_sites_page_query_count_is_flat(staff, topology, django_assert_num_queries):
    client = login(staff)
    client.get("/cdn/sites")
    # (the session from the cache and its user from this process's memory: no query for them)
    with django_assert_num_queries(4):
        client.get("/cdn/sites")
    for i in range(4):
        EdgeFactory(site=SiteFactory(name=f"s{i}"))
    with django_assert_num_queries(4):
        client.get("/cdn/sites")


@pytest.mark.django_db
def test_where_tool_explains_without_recording(staff, topology):
    response = login(staff).get(
        "/cdn/where", {"client_ip": "203.0.113.5", "content_key": KEY, "country": ""}
    )
    html = response.content.decode()
    assert "Located by global_default" in html
    assert "http://nyc-1.cdn.example/" in html
    assert SteeringDecision.objects.count() == 0


@pytest.mark.django_db
def test_where_tool_bad_ip_shows_the_form_error(staff, topology):
    response = login(staff).get("/cdn/where", {"client_ip": "nope", "content_key": KEY})
    assert response.status_code == 200
    assert "Enter a valid IPv4 or IPv6 address." in response.content.decode()


@pytest.mark.django_db
def test_coverage_import_replaces_the_sites_zones(staff, topology):
    CoverageZone.objects.create(site=topology, cidr="10.0.0.0/8")
    data = {"coverageZones": {"nyc": {"network": ["192.0.2.0/24"], "network6": ["2001:db8::/32"]}}}
    upload = SimpleUploadedFile("czf.json", json.dumps(data).encode())
    response = login(staff).post("/cdn/coverage-import", {"file": upload})
    assert response.status_code == 302
    assert sorted(CoverageZone.objects.values_list("cidr", flat=True)) == [
        "192.0.2.0/24",
        "2001:db8::/32",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "Not JSON"),
        (b'{"coverageZones": {"mars": {"network": ["10.0.0.0/8"]}}}', "Unknown sites: mars."),
        (b'{"coverageZones": {"nyc": {"network": ["2001:db8::/32"]}}}', "is not IPv4"),
        (b'{"coverageZones": {"nyc": {"network": ["10.0.0.300/8"]}}}', "Bad network"),
        (b'{"zones": {}}', "Expected an object with a coverageZones object."),
    ],
)
def test_bad_coverage_file_is_400_and_changes_nothing(staff, topology, payload, message):
    CoverageZone.objects.create(site=topology, cidr="10.0.0.0/8")
    upload = SimpleUploadedFile("czf.json", payload)
    response = login(staff).post("/cdn/coverage-import", {"file": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(CoverageZone.objects.values_list("cidr", flat=True)) == ["10.0.0.0/8"]


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    settings.CDN_SERVE_MEDIA = True
    (tmp_path / KEY).mkdir(parents=True)
    (tmp_path / KEY / "master.m3u8").write_text("#EXTM3U\n")
    (tmp_path / "secret.txt").write_text("no")
    return tmp_path


def test_demo_serves_signed_media_from_the_origin_url(client, media):
    token = sign_path(KEY + "master.m3u8", expires_at=timezone.now() + timedelta(hours=1))
    response = client.get(f"/media/{token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert b"".join(response.streaming_content) == b"#EXTM3U\n"


def test_demo_refuses_tampered_and_expired_and_missing(client, media):
    token = sign_path(KEY + "master.m3u8", expires_at=timezone.now() + timedelta(hours=1))
    tampered = client.get(f"/media/{token.replace('v1', 'v2')}")
    assert tampered.status_code == 403 and b"#EXTM3U" not in tampered.content
    old = sign_path(KEY + "master.m3u8", expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(f"/media/{old}")
    assert expired.status_code == 410 and b"#EXTM3U" not in expired.content
    missing = sign_path(KEY + "720p/nothing.ts", expires_at=timezone.now() + timedelta(hours=1))
    assert client.get(f"/media/{missing}").status_code == 404
    assert client.get(f"/media/{token}/../../secret.txt").status_code in (403, 404)


def test_signed_media_is_off_in_production(client, media, settings):
    settings.CDN_SERVE_MEDIA = False
    token = sign_path(KEY + "master.m3u8", expires_at=timezone.now() + timedelta(hours=1))
    response = client.get(f"/media/{token}")
    assert response.status_code == 404 and b"#EXTM3U" not in response.content  # nginx's job


def test_signed_media_is_one_view_for_every_content_key(client, media):
    """Development has one media server: `/media/t/` belongs to the cdn app alone."""
    from django.urls import resolve

    token = sign_path(KEY + "master.m3u8", expires_at=timezone.now() + timedelta(hours=1))
    assert resolve(f"/media/{token}").view_name == "cdn:signed-media"
    assert resolve("/media/t/anything/hls/title-1/local/360p/seg_000.ts").view_name == (
        "cdn:signed-media"
    )


@pytest.mark.django_db
def test_import_command_loads_a_file_and_refuses_bad_ones(tmp_path, topology):
    import io

    from django.core.management import CommandError, call_command

    path = tmp_path / "czf.json"
    path.write_text(json.dumps({"coverageZones": {"nyc": {"network": ["192.0.2.0/24"]}}}))
    out = io.StringIO()
    call_command("cdn_import_zones", str(path), stdout=out)
    assert out.getvalue() == "imported 1 networks for 1 sites\n"
    path.write_text('{"coverageZones": {"mars": {}}}')
    with pytest.raises(CommandError, match="Unknown sites: mars."):
        call_command("cdn_import_zones", str(path))
    assert list(CoverageZone.objects.values_list("cidr", flat=True)) == ["192.0.2.0/24"]


def test_signed_media_route_leaves_other_media_to_plain_serving():
    """Artwork and avatars live under MEDIA_URL too: only token paths are the CDN's."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve("/media/artwork/posters/some-title-342.jpg")
    except Resolver404:
        match = None  # DEBUG off: no media serving at all, which is right
    assert match is None or match.url_name != "signed-media"


@pytest.mark.django_db
def test_a_spanish_speaking_staff_member_gets_the_cdn_pages_in_spanish(staff, topology):
    type(staff).objects.filter(pk=staff.pk).update(language="es")
    client = login(staff)
    sites = client.get("/cdn/sites").content.decode()
    assert "<h1>Sitios y edges de la CDN</h1>" in sites
    assert "<th>Tasa de aciertos (precarga)</th>" in sites
    assert "0 zonas de cobertura" in sites and "coverage zone" not in sites
    where = client.get(
        "/cdn/where", {"client_ip": "203.0.113.5", "content_key": KEY, "country": ""}
    ).content.decode()
    assert "Localizada por global_default" in where
    assert "No se registra: esta herramienta no cuenta" in where
    assert "IP del cliente" in where
    bad = client.get("/cdn/where", {"client_ip": "nope", "content_key": KEY})
    assert bad.status_code == 200
    assert "dirección de IPv4 o IPv6 válida." in bad.content.decode()  # Django's own catalogue
