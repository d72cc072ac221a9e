"""The steering endpoint and staff topology: authorisation matrix, bad input, query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from accounts import services as account_services
from cdn.models import SteeringDecision
from tests.cdn.factories import EdgeFactory, SiteFactory
from tests.clients import api_client as client_for
from tests.factories import UserFactory

KEY = "hls/0b4f7d1e/v1/"
BODY = {"client_ip": "203.0.113.9", "content_key": KEY}


@pytest.fixture
def topology(db, settings):
    settings.CDN_ORIGIN_URL = "https://origin.example/media/"
    site = SiteFactory(name="nyc", is_global_default=True)
    EdgeFactory(site=site, name="nyc-1")
    EdgeFactory(site=site, name="nyc-2")
    return site


@pytest.fixture
def service_token(db):
    user = UserFactory(email="playback@service.example")
    user.user_permissions.add(Permission.objects.get(codename="use_steering"))
    _, plaintext = account_services.api_token_create(user=user, name="playback")
    return plaintext


@pytest.mark.django_db
class TestSteerAuthorisation:
    def test_anonymous_is_401_and_nothing_recorded(self, api, topology):
        response = api.post("/api/v1/cdn/steer", BODY, format="json")
        assert response.status_code == 401
        assert SteeringDecision.objects.count() == 0

    def test_an_ordinary_account_is_403_and_nothing_recorded(self, alice, topology):
        response = client_for(alice).post("/api/v1/cdn/steer", BODY, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == (
            "Only staff or service accounts with cdn.use_steering may ask for steering."
        )
        assert SteeringDecision.objects.count() == 0

    def test_another_account_is_403(self, bob, topology):
        response = client_for(bob).post("/api/v1/cdn/steer", BODY, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert SteeringDecision.objects.count() == 0

    def test_staff_gets_ranked_urls_origin_last(self, staff, topology):
        response = client_for(staff).post("/api/v1/cdn/steer", BODY, format="json")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"id", "located_by", "site", "urls", "edges", "reasons"}  # documented
        assert sorted(body["edges"][:2]) == ["nyc-1", "nyc-2"]
        assert body["urls"][-1] == "https://origin.example/media/"
        assert (body["located_by"], body["site"]) == ("global_default", "nyc")
        assert SteeringDecision.objects.get().id.hex == body["id"].replace("-", "")

    def test_service_account_token_with_the_permission(self, api, topology, service_token):
        response = api.post(
            "/api/v1/cdn/steer", BODY, format="json", HTTP_AUTHORIZATION=f"Bearer {service_token}"
        )
        assert response.status_code == 200
        assert len(response.json()["urls"]) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_ip": "999.1.1.1", "content_key": KEY}, "client_ip"),
        ({"client_ip": "203.0.113.9", "content_key": "../etc/"}, "content_key"),
        ({"client_ip": "203.0.113.9", "content_key": KEY, "count": 0}, "count"),
        ({"client_ip": "203.0.113.9", "content_key": KEY, "country": "USA"}, "country"),
        ({"content_key": KEY}, "client_ip"),
    ],
)
def test_bad_input_is_400_naming_the_field(staff, topology, body, field):
    response = client_for(staff).post("/api/v1/cdn/steer", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert SteeringDecision.objects.count() == 0


@pytest.mark.django_db
class TestTopology:
    def test_anonymous_and_accounts_are_refused(self, api, alice, topology):
        anonymous = api.get("/api/v1/cdn/topology")
        account = client_for(alice).get("/api/v1/cdn/topology")
        assert (anonymous.status_code, account.status_code) == (401, 403)
        for refused in (anonymous, account):  # an error, and no topology in it
            assert set(refused.json()) == {"error"}

    def test_staff_sees_sites_and_edges(self, staff, topology):
        response = client_for(staff).get("/api/v1/cdn/topology")
        assert response.status_code == 200
        [site] = response.json()
        assert site["name"] == "nyc"
        assert [e["name"] for e in site["edges"]] == ["nyc-1", "nyc-2"]
        assert site["edges"][0] == {
            "name": "nyc-1",
            "base_url": "http://nyc-1.cdn.example/",
            "admin_state": "online",
            "healthy": True,
            "load": 0.0,
            "weight": 1.0,
            "capacity": 1000,
            "hit_ratio": None,
        }

    def test_query_count_does_not_grow_with_sites(self, staff, topology, django_assert_num_queries):
        client = client_for(staff)
        client.get("/api/v1/cdn/topology")  # warm the auth path
        with django_assert_num_queries(3):
            client.get("/api/v1/cdn/topology")
        for i in range(5):
            site = SiteFactory(name=f"extra-{i}")
            site.backups.add(topology)
            EdgeFactory(site=site)
        with django_assert_num_queries(3):
            assert len(client.get("/api/v1/cdn/topology").json()) == 6
