"""Devices (sessions) and API tokens: listing, signing out, revoking, and their matrices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, User, UserSession
from accounts.useragent import device_name
from tests.accounts.conftest import PASSWORD
from tests.clients import follow_auth_epoch
from tests.clients import token_client as api_as

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def _signed_in(user: User, user_agent: str, ip: str = "203.0.113.5") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (FIREFOX, "Firefox on Linux"),
        (IPHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 "
            "Safari/537.36 Edg/130.0",
            "Edge on Windows",
        ),
        ("curl/8.5.0", "curl"),
        ("", "Unknown device"),
    ],
)
def test_device_names_come_from_the_user_agent(agent, name):
    assert device_name(agent) == name


def test_sign_in_records_the_device_with_address(household, alice):
    _signed_in(alice, FIREFOX)
    row = UserSession.objects.get(user=alice)
    assert (row.device_name, row.ip, row.location) == ("Firefox on Linux", "203.0.113.5", "")


def test_devices_page_lists_sessions_and_marks_this_one(household, alice):
    laptop = _signed_in(alice, FIREFOX)
    _signed_in(alice, IPHONE)
    response = laptop.get("/account/devices/")
    assert response.status_code == 200
    assert [s.device_name for s in response.context["sessions"]] == [
        "Safari on iPhone",
        "Firefox on Linux",
    ]
    assert response.content.count(b"this device") == 1


@pytest.mark.parametrize("extra", [0, 3])
def test_devices_page_costs_the_same_queries_for_one_or_many(
    household, alice, django_assert_num_queries, extra
):
    client = _signed_in(alice, FIREFOX)
    for _ in range(extra):
        _signed_in(alice, IPHONE)
    client.get("/account/devices/")
    # the sessions list only: the session comes from the cache and its user from this
    # process's memory (accounts.session_store, accounts.middleware.session_user)
    with django_assert_num_queries(1):
        response = client.get("/account/devices/")
    assert len(response.context["sessions"]) == 1 + extra


def test_signing_out_one_device_ends_that_session_only(household, alice):
    laptop = _signed_in(alice, FIREFOX)
    phone = _signed_in(alice, IPHONE)
    phone_row = UserSession.objects.get(device_name="Safari on iPhone")
    response = laptop.post(f"/account/devices/{phone_row.pk}/revoke/")
    assert response.status_code == 302
    assert phone.get("/account/").status_code == 302  # back to sign-in
    assert laptop.get("/account/").status_code == 200
    assert list(UserSession.objects.values_list("device_name", flat=True)) == ["Firefox on Linux"]


def test_sign_out_all_others_keeps_this_device(household, alice):
    laptop = _signed_in(alice, FIREFOX)
    phone = _signed_in(alice, IPHONE)
    tablet = _signed_in(alice, IPHONE)
    response = laptop.post("/account/devices/revoke-all/")
    assert response.status_code == 302
    assert phone.get("/account/").status_code == 302
    assert tablet.get("/account/").status_code == 302
    assert laptop.get("/account/").status_code == 200
    assert UserSession.objects.filter(user=alice).count() == 1


def test_last_seen_is_refreshed_at_most_once_a_minute(household, alice):
    client = _signed_in(alice, FIREFOX)
    row = UserSession.objects.get()
    past = timezone.now() - timedelta(hours=1)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=past)
    client.get("/account/")
    row.refresh_from_db()
    assert row.last_seen_at == past  # gated: signed in less than a minute ago
    from django.core.cache import cache

    cache.clear()
    client.get("/account/")
    row.refresh_from_db()
    assert row.last_seen_at > past


@pytest.mark.parametrize(
    ("actor", "status"),
    [("anonymous", 401), ("other_account", 404), ("staff", 404), ("kids_profile", 403)],
)
def test_session_revoke_api_denied_changes_nothing(household, alice, bob, staff, actor, status):
    _signed_in(alice, IPHONE)
    row = UserSession.objects.get(user=alice)
    client, headers = APIClient(), {}
    if actor == "other_account":
        client = api_as(bob)
    elif actor == "staff":
        client = api_as(staff)
    elif actor == "kids_profile":
        client, headers = api_as(alice), {"HTTP_X_PROFILE_ID": str(household["kid"].pk)}
    assert client.delete(f"/api/v1/sessions/{row.pk}", **headers).status_code == status
    assert Session.objects.filter(session_key=row.session_key).exists()
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_session_api_lists_and_signs_out(household, alice, token_api):
    phone = _signed_in(alice, IPHONE)
    _signed_in(alice, FIREFOX)
    listed = token_api.get("/api/v1/sessions").json()
    assert [(s["device_name"], s["current"]) for s in listed] == [
        ("Firefox on Linux", False),
        ("Safari on iPhone", False),
    ]
    phone_id = listed[1]["id"]
    assert token_api.delete(f"/api/v1/sessions/{phone_id}").status_code == 204
    assert phone.get("/account/").status_code == 302
    response = token_api.post("/api/v1/sessions/revoke-all")
    assert response.json() == {"revoked": 1}
    assert UserSession.objects.count() == 0


def test_force_sign_out_everywhere_ends_even_unrecorded_sessions(household, alice):
    client = _signed_in(alice, FIREFOX)
    UserSession.objects.all().delete()  # as if never recorded
    services.sessions_revoke_all(user=alice)
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


# --- API tokens -----------------------------------------------------------------------------


def test_token_page_creates_shows_once_then_lists_and_revokes(household, alice_client):
    response = alice_client.post("/account/tokens/", {"name": "Kodi"})
    assert response.status_code == 200
    plaintext = response.context["created"]["plaintext"]
    assert plaintext.startswith("ss_")
    assert plaintext.encode() in response.content
    page = alice_client.get("/account/tokens/")
    assert plaintext.encode() not in page.content
    token = ApiToken.objects.get(name="Kodi")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get("/api/v1/me").status_code == 200
    assert alice_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/me").status_code == 401


def test_token_with_past_expiry_is_refused_next_to_the_field(household, alice_client):
    response = alice_client.post(
        "/account/tokens/", {"name": "Old", "expires_at": "2001-01-01T00:00"}
    )
    assert response.status_code == 400
    assert b"The expiry must be in the future." in response.content
    assert ApiToken.objects.filter(name="Old").count() == 0


@pytest.mark.parametrize("extra", [0, 4])
def test_token_list_costs_the_same_queries_for_one_or_many(
    alice, token_api, django_assert_num_queries, extra
):
    for n in range(extra):
        services.api_token_create(user=alice, name=f"t{n}")
    follow_auth_epoch()
    token_api.get("/api/v1/tokens")
    with django_assert_num_queries(1):  # the tokens (the bearer token itself is remembered)
        response = token_api.get("/api/v1/tokens")
    assert len(response.json()) == 1 + extra


@pytest.mark.parametrize(
    ("actor", "status"),
    [("anonymous", 401), ("other_account", 404), ("staff", 404), ("kids_profile", 403)],
)
def test_token_revoke_denied_changes_nothing(household, alice, bob, staff, actor, status):
    token, _ = services.api_token_create(user=alice, name="keep")
    client, headers = APIClient(), {}
    if actor == "other_account":
        client = api_as(bob)
    elif actor == "staff":
        client = api_as(staff)
    elif actor == "kids_profile":
        client, headers = api_as(alice), {"HTTP_X_PROFILE_ID": str(household["kid"].pk)}
    assert client.delete(f"/api/v1/tokens/{token.pk}", **headers).status_code == status
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    ("actor", "status"), [("anonymous", 302), ("other_account", 404), ("staff", 404)]
)
def test_token_and_device_pages_denied_change_nothing(household, alice, bob, staff, actor, status):
    token, _ = services.api_token_create(user=alice, name="keep")
    _signed_in(alice, IPHONE)
    row = UserSession.objects.get(user=alice)
    client = Client()
    if actor != "anonymous":
        client.force_login(bob if actor == "other_account" else staff)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == status
    assert client.post(f"/account/devices/{row.pk}/revoke/").status_code == status
    token.refresh_from_db()
    assert token.revoked_at is None
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_the_seen_gate_is_counted_with_the_shared_counters(household, alice, settings):
    from django.conf import settings as django_settings
    from django.core.cache import cache

    from accounts.middleware import seen_gate_key

    settings.CATALOG_CACHE_SECONDS = 300  # the home page reads the catalogue version
    client = _signed_in(alice, FIREFOX)
    row = UserSession.objects.get()
    past = timezone.now() - timedelta(hours=1)
    cache.clear()
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=past)
    assert client.get("/").status_code == 200
    row.refresh_from_db()
    assert row.last_seen_at > past  # the interval's first request writes
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=past)
    assert client.get("/").status_code == 200
    row.refresh_from_db()
    assert row.last_seen_at == past  # the second is gated
    gate = seen_gate_key(client.cookies[django_settings.SESSION_COOKIE_NAME].value)
    assert cache.get(gate) == 2  # counted once per request, in the counters' round trip
