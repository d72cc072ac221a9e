"""The API called with the browser's session cookie: switching the session's profile (PIN
checked) and signing out every other session while keeping this one."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import selectors

pytestmark = pytest.mark.django_db


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
