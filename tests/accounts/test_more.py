"""Smaller contracts: email templates, client IPs, session-cookie API calls, reading profiles."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts import selectors
from accounts.tasks import send_account_email
from tests.accounts.conftest import api_as

pytestmark = pytest.mark.django_db

TEMPLATES = {
    "verify": {"verify_url": "http://x/verify/t/"},
    "signup_existing": {"login_url": "http://x/login/"},
    "password_reset": {"reset_url": "http://x/reset/a/b/"},
    "password_changed": {},
    "email_change": {"verify_url": "http://x/verify/t/"},
    "email_change_taken": {},
    "email_change_notice": {"new_email": "n@example.com"},
    "two_factor_on": {},
    "two_factor_off": {},
    "account_deleted": {},
}


@pytest.mark.parametrize(("template", "context"), TEMPLATES.items())
def test_every_account_email_renders_with_a_one_line_subject(template, context):
    send_account_email(to="a@example.com", template=template, context=context)
    message = mail.outbox[0]
    assert message.to == ["a@example.com"]
    assert "\n" not in message.subject
    assert message.subject.strip() == message.subject != ""
    for value in context.values():
        assert value in str(message.body)


def test_links_in_emails_are_not_html_escaped():
    url = "http://x/reset/a/b/?a=1&b=2"
    send_account_email(to="a@example.com", template="password_reset", context={"reset_url": url})
    assert url in str(mail.outbox[0].body)


def test_session_cookie_api_switches_the_browser_profile(household, alice):
    api = APIClient()
    api.force_login(alice)
    locked = household["locked"]
    denied = api.post(f"/api/v1/profiles/{locked.pk}/switch", {})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "pin_required"
    assert api.post(f"/api/v1/profiles/{locked.pk}/switch", {"pin": "1234"}).status_code == 200
    assert api.session[selectors.SESSION_PROFILE] == locked.pk
    assert api.get("/api/v1/tokens").status_code == 200  # session profile, unlocked


def test_session_cookie_api_sign_out_others_keeps_this_session(household, alice):
    api = APIClient()
    api.force_login(alice)
    other = APIClient()
    other.force_login(alice)
    response = api.post("/api/v1/sessions/revoke-all")
    assert response.json() == {"revoked": 1}
    assert api.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    listed = api.get("/api/v1/sessions").json()
    assert [s["current"] for s in listed] == [True]


@pytest.mark.parametrize(("actor", "status"), [("other_account", 404), ("staff", 404)])
def test_reading_a_profile_of_another_account_is_404(household, bob, staff, actor, status):
    client = api_as(bob if actor == "other_account" else staff)
    assert client.get(f"/api/v1/profiles/{household['main'].pk}").status_code == status


def test_owner_reads_a_profile(household, token_api):
    response = token_api.get(f"/api/v1/profiles/{household['kid'].pk}")
    assert (response.status_code, response.json()["name"]) == (200, "Kiddo")
