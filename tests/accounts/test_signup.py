"""Sign-up, email verification and the enumeration-safe answers."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Profile, User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)  # emails are sent after commit


def _link(message: mail.EmailMessage) -> str:
    match = re.search(r"http://\S+", str(message.body))
    assert match is not None
    return match.group(0).removeprefix("http://127.0.0.1:8000")


def test_browser_signup_creates_unverified_account_with_first_profile_and_sends_link():
    client = Client()
    response = client.post(
        "/signup/", {"email": "New@Example.com", "password": PASSWORD, "profile_name": "Ana"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/signup/done/"
    user = User.objects.get()
    assert user.email == "new@example.com"
    assert user.email_verified_at is None
    assert list(Profile.objects.filter(account=user).values_list("name", flat=True)) == ["Ana"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert mail.outbox[0].subject == "Confirm your Streamsite address"


def test_signup_with_a_registered_address_answers_the_same_and_changes_nothing(alice):
    old_password = alice.password
    client = Client()
    fresh = client.post("/signup/", {"email": "fresh@example.com", "password": PASSWORD})
    taken = client.post("/signup/", {"email": "ALICE@example.com", "password": "another pass 42"})
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    alice.refresh_from_db()
    assert alice.password == old_password
    assert User.objects.filter(email="alice@example.com").count() == 1
    assert [m.subject for m in mail.outbox] == [
        "Confirm your Streamsite address",
        "Your Streamsite account",
    ]


def test_api_signup_answers_identically_for_new_and_registered_addresses(alice):
    api = APIClient()
    fresh = api.post("/api/v1/auth/signup", {"email": "fresh@example.com", "password": PASSWORD})
    taken = api.post("/api/v1/auth/signup", {"email": "alice@example.com", "password": PASSWORD})
    assert fresh.status_code == taken.status_code == 202
    assert fresh.json() == taken.json()
    assert User.objects.count() == 2


def test_weak_password_is_refused_next_to_the_field():
    response = Client().post("/signup/", {"email": "ana@example.com", "password": "12345678"})
    assert response.status_code == 400
    assert b"This password is too common." in response.content
    assert b'id="id_password_error"' in response.content
    assert User.objects.count() == 0


def test_api_signup_with_weak_password_is_400_with_field_errors():
    response = APIClient().post(
        "/api/v1/auth/signup", {"email": "ana@example.com", "password": "short"}
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert (
        "This password is too short. It must contain at least 8 characters."
        in (body["fields"]["password"])
    )


def test_verification_link_confirms_then_sign_in_goes_to_the_signup_next_url(settings):
    settings.ACCOUNTS_SIGNUP_NEXT_URL = "/plans/"
    client = Client()
    client.post("/signup/", {"email": "ana@example.com", "password": PASSWORD})
    response = client.get(_link(mail.outbox[0]))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fplans%2F"
    assert User.objects.get().email_verified_at is not None
    response = client.post(
        "/login/?next=/plans/",
        {"email": "ana@example.com", "password": PASSWORD, "next": "/plans/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/plans/"


def test_api_verify_confirms_the_address():
    api = APIClient()
    api.post("/api/v1/auth/signup", {"email": "ana@example.com", "password": PASSWORD})
    token = _link(mail.outbox[0]).split("/")[2]
    response = api.post("/api/v1/auth/verify", {"token": token})
    assert response.status_code == 200
    assert User.objects.get().email_verified_at is not None


def test_tampered_verification_link_is_400_and_verifies_nothing():
    client = Client()
    client.post("/signup/", {"email": "ana@example.com", "password": PASSWORD})
    response = client.get(_link(mail.outbox[0])[:-3] + "xx/")
    assert response.status_code == 400
    assert User.objects.get().email_verified_at is None


def test_unverified_account_cannot_sign_in_and_gets_a_new_link():
    client = Client()
    client.post("/signup/", {"email": "ana@example.com", "password": PASSWORD})
    response = client.post("/login/", {"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert b"Please confirm your email address first" in response.content
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 2


def test_full_journey_through_the_api(alice):
    """Sign up, verify, get a token, create profiles, lock one, switch, revoke the token."""
    api = APIClient()
    api.post("/api/v1/auth/signup", {"email": "ana@example.com", "password": PASSWORD})
    api.post("/api/v1/auth/verify", {"token": _link(mail.outbox[0]).split("/")[2]})
    created = api.post(
        "/api/v1/auth/token", {"email": "ana@example.com", "password": PASSWORD, "name": "cli"}
    )
    assert created.status_code == 201
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
    kid = api.post("/api/v1/profiles", {"name": "Kid", "is_kids": True}).json()
    locked = api.post("/api/v1/profiles", {"name": "Locked"}).json()
    assert kid["maturity_label"] == "Kids"
    pin = api.put(f"/api/v1/profiles/{locked['id']}/pin", {"password": PASSWORD, "pin": "4321"})
    assert pin.json()["has_pin"] is True
    assert len(api.get("/api/v1/profiles").json()) == 3
    denied = api.get("/api/v1/tokens", HTTP_X_PROFILE_ID=str(locked["id"]))
    assert denied.status_code == 403
    assert api.post(f"/api/v1/profiles/{locked['id']}/switch", {"pin": "4321"}).status_code == 200
    assert api.get("/api/v1/tokens", HTTP_X_PROFILE_ID=str(locked["id"])).status_code == 200
    revoked = api.delete(f"/api/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    assert api.get("/api/v1/profiles").status_code == 401
    assert User.objects.get(email="ana@example.com").email_verified_at <= timezone.now()
