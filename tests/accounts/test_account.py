"""Security headers, the JSON export and account deletion, admin, demo, emails."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.demo import VIEWER_EMAIL, VIEWER_PASSWORD
from accounts.models import ApiToken, Profile, User, UserSession
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/login/", "/api/v1/me", "/api/docs/"])
def test_security_headers_on_every_response(db, url):
    response = Client().get(url)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_pages_forbid_inline_scripts_but_the_api_docs_allow_them(db):
    assert "script-src 'self';" in Client().get("/login/")["Content-Security-Policy"]
    assert "'unsafe-inline'" in Client().get("/api/docs/")["Content-Security-Policy"]


def test_debugs_error_pages_may_be_styled_inline_and_nothing_else(db, settings):
    strict = Client().get("/no-such-page/")
    assert strict.status_code == 404 and "style-src 'self';" in strict["Content-Security-Policy"]
    settings.DEBUG = True  # make demo: Django's technical 404 page, styled by an inline <style>
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and b"<style" in page.content
    assert "style-src 'self' 'unsafe-inline'" in page["Content-Security-Policy"]
    assert "'unsafe-inline'" not in Client().get("/login/")["Content-Security-Policy"]


def test_export_holds_the_account_profiles_sessions_and_tokens(household, alice, alice_client):
    services.api_token_create(user=alice, name="cli")
    response = alice_client.get("/account/export.json")
    assert response["Content-Disposition"] == 'attachment; filename="streamsite-export.json"'
    data = json.loads(response.content)
    assert data["account"]["email"] == "alice@example.com"
    assert [p["name"] for p in data["profiles"]] == ["Alice", "Private", "Kiddo"]
    assert [t["name"] for t in data["api_tokens"]] == ["cli"]
    assert len(data["sessions"]) == 1
    assert "digest" not in json.dumps(data)


def export_extra(account: User) -> dict:
    return {"watched": 3}


def test_export_includes_other_apps_providers(household, alice, settings):
    from accounts import selectors

    settings.ACCOUNTS_EXPORT_PROVIDERS = ["tests.accounts.test_account.export_extra"]
    assert selectors.account_export(alice)["tests"] == {"watched": 3}


@pytest.mark.django_db(transaction=True)
def test_deleting_the_account_emails_the_export_and_removes_everything(household, alice_client):
    wrong = alice_client.post("/account/delete/", {"password": "nope"})
    assert wrong.status_code == 400
    assert User.objects.filter(email="alice@example.com").exists()
    response = alice_client.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 200
    assert not User.objects.filter(email="alice@example.com").exists()
    assert Profile.objects.count() == 0
    assert UserSession.objects.count() == 0
    message = mail.outbox[-1]
    assert message.subject == "Your Streamsite account is deleted"
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("streamsite-export.json", "application/json")
    assert json.loads(content)["account"]["email"] == "alice@example.com"
    assert alice_client.get("/account/").status_code == 302


def test_api_account_delete_needs_the_password(household, token_api):
    response = token_api.delete("/api/v1/me", {"password": "nope"})
    assert response.status_code == 400
    assert User.objects.filter(email="alice@example.com").exists()
    response = token_api.delete("/api/v1/me", {"password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["account"]["email"] == "alice@example.com"
    assert not User.objects.filter(email="alice@example.com").exists()


def test_kids_profile_cannot_delete_the_account(household, token_api):
    response = token_api.delete(
        "/api/v1/me", {"password": PASSWORD}, HTTP_X_PROFILE_ID=str(household["kid"].pk)
    )
    assert response.status_code == 403
    assert User.objects.filter(email="alice@example.com").exists()


def test_admin_searches_by_email_and_shows_profiles_inline(household, alice, staff):
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/accounts/user/?q=alice")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [alice]
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert page.status_code == 200
    assert b"Kiddo" in page.content


def test_admin_deactivate_signs_out_and_revokes_tokens(household, alice, staff):
    victim = Client()
    victim.force_login(alice)
    token, _ = services.api_token_create(user=alice, name="cli")
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [alice.pk]},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    token.refresh_from_db()
    assert alice.is_active is False
    assert token.revoked_at is not None
    assert victim.get("/account/").status_code == 302


def test_admin_force_sign_out_everywhere(household, alice, staff):
    victim = Client()
    victim.force_login(alice)
    client = Client()
    client.force_login(staff)
    client.post(
        "/admin/accounts/user/", {"action": "sign_out_everywhere", "_selected_action": [alice.pk]}
    )
    assert victim.get("/account/").status_code == 302
    alice.refresh_from_db()
    assert alice.is_active is True


@pytest.mark.needs_ffmpeg  # seed_demo runs every app's seeder, the media encodes too
def test_demo_seed_is_idempotent_and_prints_credentials(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert f"viewer sign-in: {VIEWER_EMAIL} / {VIEWER_PASSWORD}" in out
    viewer = User.objects.get(email=VIEWER_EMAIL)
    assert [(p.name, p.is_kids, p.has_pin) for p in Profile.objects.filter(account=viewer)] == [
        ("Alex", False, True),
        ("Sam", False, False),
        ("Kids", True, False),
    ]
    assert (
        Client().post("/login/", {"email": VIEWER_EMAIL, "password": VIEWER_PASSWORD}).status_code
        == 302
    )


def test_token_revocation_takes_effect_on_the_very_next_request(household, alice):
    token, plaintext = services.api_token_create(user=alice, name="cli")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get("/api/v1/me").status_code == 200
    services.api_token_revoke(user=alice, token_id=token.pk)
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_openapi_schema_documents_the_profile_header_and_endpoints(db):
    response = Client().get("/api/schema/?format=json")
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path in [
        "/api/v1/profiles",
        "/api/v1/profiles/{profile_id}/verify-pin",
        "/api/v1/profiles/{profile_id}/switch",
        "/api/v1/sessions",
        "/api/v1/tokens",
        "/api/v1/auth/signup",
    ]:
        assert path in paths, path
    params = paths["/api/v1/tokens"]["get"]["parameters"]
    assert [p["name"] for p in params if p["in"] == "header"] == ["X-Profile-Id"]
