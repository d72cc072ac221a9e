"""Credentials that end together (issue 16, item 6): a password change ends the other browser
sessions and revokes API tokens (unless the owner keeps them); a reset ends every session and
revokes every token. The security email says what happened."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, UserSession
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "another good phrase"


def _token_client(user, name: str) -> APIClient:
    _, plaintext = services.api_token_create(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def _signed_in(email: str = "alice@example.com", password: str = PASSWORD) -> Client:
    client = Client()
    assert client.post("/login/", {"email": email, "password": password}).status_code == 302
    return client


def test_password_change_ends_other_sessions_and_revokes_tokens(household, alice):
    this, other = _signed_in(), _signed_in()
    tv, phone = _token_client(alice, "tv"), _token_client(alice, "phone")
    assert tv.get("/api/v1/me").status_code == 200
    mail.outbox.clear()

    response = this.post(
        "/account/",
        {"action": "password", "old_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert this.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    assert tv.get("/api/v1/me").status_code == 401
    assert phone.get("/api/v1/me").status_code == 401
    assert ApiToken.objects.filter(user=alice, revoked_at__isnull=True).count() == 0
    assert UserSession.objects.filter(user=alice).count() == 1  # this browser only
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "Every other device was signed out (1 recorded session)." in message.body
    assert "Every API token was revoked (2)" in message.body


def test_password_change_may_keep_the_tokens_when_asked(household, alice):
    this = _signed_in()
    tv = _token_client(alice, "tv")
    mail.outbox.clear()
    response = this.post(
        "/account/",
        {
            "action": "password",
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "keep_api_tokens": "on",
        },
    )
    assert response.status_code == 302
    assert tv.get("/api/v1/me").status_code == 200
    assert "Your API tokens were kept, as you asked." in mail.outbox[0].body


def test_a_refused_password_change_ends_nothing(household, alice):
    this, other = _signed_in(), _signed_in()
    tv = _token_client(alice, "tv")
    response = this.post(
        "/account/", {"action": "password", "old_password": "nope", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert other.get("/account/").status_code == 200
    assert tv.get("/api/v1/me").status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0


def test_password_reset_ends_every_session_and_revokes_tokens(household, alice):
    browser = _signed_in()
    tv = _token_client(alice, "tv")
    mail.outbox.clear()
    assert (
        APIClient().post("/api/v1/auth/password-reset", {"email": "alice@example.com"}).status_code
        == 202
    )
    link = re.search(r"/reset/([^/]+)/([^/]+)/", mail.outbox[0].body)
    assert link is not None
    mail.outbox.clear()

    response = APIClient().post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": link.group(1), "token": link.group(2), "password": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert browser.get("/account/").status_code == 302
    assert tv.get("/api/v1/me").status_code == 401
    assert UserSession.objects.filter(user=alice).count() == 0
    [message] = mail.outbox
    assert "reset with an emailed link" in message.body
    assert "Every device was signed out (1 recorded session)." in message.body
    assert "Every API token was revoked (1)" in message.body
    # The new password works; a token made now works.
    assert _signed_in(password=NEW_PASSWORD).get("/account/").status_code == 200
