"""API authentication, the error shape, the schema and docs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services, token_touch
from accounts.models import ApiToken


@pytest.mark.django_db
class TestAuthentication:
    def test_anonymous_is_refused_with_the_error_shape(self, api):
        response = api.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "status": 401,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        }
        assert response["WWW-Authenticate"] == "Bearer"

    def test_token_authenticates(self, api, alice):
        _, plaintext = services.api_token_create(user=alice, name="cli")
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        assert response.status_code == 200
        assert response.json()["email"] == "alice@example.com"

    def test_token_records_last_use(self, api, alice):
        token, plaintext = services.api_token_create(user=alice, name="cli")
        api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        token_touch.flush()  # noted in Redis when the cache is Redis (accounts.token_touch)
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_revoked_token_is_refused_at_once(self, api, alice):
        token, plaintext = services.api_token_create(user=alice, name="cli")
        services.api_token_revoke(user=alice, token_id=token.pk)
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid, expired or revoked token."

    def test_expired_token_is_refused(self, api, alice):
        token, plaintext = services.api_token_create(
            user=alice, name="cli", expires_at=timezone.now() + timedelta(hours=1)
        )
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"
        token.refresh_from_db()
        assert token.last_used_at is None  # an expired token is not "used"

    def test_unknown_token_is_refused(self, api, alice):
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer ss_not-a-real-token")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid, expired or revoked token."

    def test_token_is_stored_hashed(self, alice):
        token, plaintext = services.api_token_create(user=alice, name="cli")
        assert plaintext not in (token.digest, token.prefix)
        assert not ApiToken.objects.filter(digest=plaintext).exists()
        assert len(token.digest) == 64

    def test_session_authenticates(self, client, alice):
        client.force_login(alice)
        response = client.get("/api/v1/me")
        assert response.status_code == 200
        assert response.json()["email"] == "alice@example.com"


@pytest.mark.django_db
class TestErrorShape:
    def test_validation_errors_list_fields(self, alice_api):
        response = alice_api.post("/api/v1/tokens", {"name": ""}, format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["status"] == 400
        assert error["message"] == "name: This field may not be blank."
        assert error["fields"] == {"name": ["This field may not be blank."]}

    def test_domain_error_maps_to_its_status(self, alice_api, bob):
        token, _ = services.api_token_create(user=bob, name="bob's")
        response = alice_api.delete(f"/api/v1/tokens/{token.pk}")
        assert response.status_code == 404
        assert response.json() == {
            "error": {"status": 404, "code": "not_found", "message": "No such token."}
        }
        token.refresh_from_db()
        assert token.revoked_at is None

    def test_unknown_api_url_is_json_404(self, api):
        response = api.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_malformed_json_is_400_not_500(self, alice_api):
        response = alice_api.generic(
            "POST", "/api/v1/tokens", "{not json", content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"

    def test_throttled_requests_get_429_with_retry_after(self, alice_api, monkeypatch):
        from rest_framework.settings import api_settings
        from rest_framework.throttling import UserRateThrottle

        # monkeypatch removes the class's own attribute afterwards (assigning the inherited
        # value back would leave one that shadows any later patch of the parent's).
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/min"}
        monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
        statuses = [alice_api.get("/api/v1/me").status_code for _ in range(2)]
        response = alice_api.get("/api/v1/me")
        assert statuses == [200, 200]
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["code"] == "throttled"
        assert 0 < error["retry_after"] <= 60


@pytest.mark.django_db
class TestSchema:
    def test_openapi_schema_lists_endpoints(self, client):
        response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert "/api/v1/me" in schema["paths"]
        assert "/api/v1/tokens" in schema["paths"]

    def test_interactive_docs_render_with_local_assets(self, client):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert b"swagger-ui" in response.content
        assert b"cdn.jsdelivr" not in response.content
