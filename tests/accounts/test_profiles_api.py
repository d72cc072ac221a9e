"""Profiles through the API: CRUD, limits, kids rules, PINs, X-Profile-Id, the matrix."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.models import Profile, ProfileUnlock
from streamsite.cache import default_redis
from streamsite.errors import PermissionDenied, ValidationFailed
from tests.accounts.conftest import PASSWORD
from tests.clients import token_client as api_as

pytestmark = pytest.mark.django_db


def _snapshot(profile: Profile) -> tuple[Any, ...]:
    profile.refresh_from_db()
    return (profile.name, profile.maturity, profile.is_kids, profile.pin_hash, profile.avatar)


def test_list_shows_the_accounts_profiles_in_creation_order(household, token_api):
    response = token_api.get("/api/v1/profiles")
    assert response.status_code == 200
    assert [
        (p["name"], p["maturity_label"], p["is_kids"], p["has_pin"]) for p in response.json()
    ] == [
        ("Alice", "Adults", False, False),
        ("Private", "Adults", False, True),
        ("Kiddo", "Kids", True, False),
    ]
    assert response.json()[0]["avatar_url"] == "/avatars/ember.svg"


@pytest.mark.parametrize("extra", [0, 4])
def test_profile_list_costs_the_same_queries_for_one_or_many(
    alice, token_api, django_assert_num_queries, extra
):
    services.profile_create(account=alice, name="First")
    for n in range(extra):
        services.profile_create(account=alice, name=f"P{n}")
    # token lookup, profiles, and the token's last use unless Redis notes it (accounts.token_touch);
    # permissions are read only when something asks
    with django_assert_num_queries(2 if default_redis() is not None else 3):
        response = token_api.get("/api/v1/profiles")
    assert len(response.json()) == 1 + extra


def test_create_is_limited_by_the_setting(household, token_api, settings):
    settings.ACCOUNTS_MAX_PROFILES = 4
    assert token_api.post("/api/v1/profiles", {"name": "Four"}).status_code == 201
    response = token_api.post("/api/v1/profiles", {"name": "Five"})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "This account already has the most profiles it may have (4)."
    )
    assert Profile.objects.filter(account=household["main"].account).count() == 4


def plan_limit_of_two(account: Any) -> int:
    return 2


def test_profile_limit_asks_the_provider_when_configured(alice, settings):
    settings.ACCOUNTS_PROFILE_LIMIT_PROVIDER = "tests.accounts.test_profiles_api.plan_limit_of_two"
    assert selectors.profile_limit(alice) == 2
    settings.ACCOUNTS_PROFILE_LIMIT_PROVIDER = None
    settings.ACCOUNTS_MAX_PROFILES = 5
    assert selectors.profile_limit(alice) == 5


def test_create_validates_input_with_field_messages(household, token_api):
    response = token_api.post("/api/v1/profiles", {"name": "Alice"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "name": ["Another profile already has that name."]
    }
    response = token_api.post("/api/v1/profiles", {"name": "X", "maturity": 99})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["maturity"]
    response = token_api.post("/api/v1/profiles", {"name": "X", "avatar": "nope"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["avatar"]


def test_kids_flag_forces_the_kids_maturity(household, token_api):
    response = token_api.patch(
        f"/api/v1/profiles/{household['main'].pk}", {"is_kids": True, "maturity": 30}
    )
    assert response.status_code == 200
    assert (response.json()["is_kids"], response.json()["maturity"]) == (True, 10)


def test_last_profile_cannot_be_deleted(alice, token_api):
    only = services.profile_create(account=alice, name="Only")
    response = token_api.delete(f"/api/v1/profiles/{only.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "The last profile cannot be deleted."
    assert Profile.objects.filter(pk=only.pk).exists()


def test_a_kids_profile_cannot_create_profiles_or_manage_tokens(household, token_api):
    kid = str(household["kid"].pk)
    response = token_api.post("/api/v1/profiles", {"name": "New"}, HTTP_X_PROFILE_ID=kid)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "kids_profile"
    assert token_api.get("/api/v1/tokens", HTTP_X_PROFILE_ID=kid).status_code == 403
    assert token_api.get("/api/v1/sessions", HTTP_X_PROFILE_ID=kid).status_code == 403
    assert Profile.objects.filter(account=household["kid"].account).count() == 3


# --- The authorisation matrix for /api/v1/profiles/{id} ------------------------------------


def _actor(name: str, household: dict, alice, bob, staff) -> tuple[APIClient, dict]:
    if name == "anonymous":
        return APIClient(), {}
    if name == "other_account":
        return api_as(bob), {}
    if name == "staff":
        return api_as(staff), {}
    client = api_as(alice)
    if name == "kids_profile":
        return client, {"HTTP_X_PROFILE_ID": str(household["kid"].pk)}
    if name == "other_profile":  # acting as Alice on the PIN-locked "Private"
        return client, {"HTTP_X_PROFILE_ID": str(household["main"].pk)}
    return client, {}


DENIED = [
    ("anonymous", 401),
    ("other_account", 404),
    ("staff", 404),
    ("kids_profile", 403),
    ("other_profile", 403),
]


@pytest.mark.parametrize(("actor", "status"), DENIED)
def test_update_denied_changes_nothing(household, alice, bob, staff, actor, status):
    target = household["locked"]
    before = _snapshot(target)
    client, headers = _actor(actor, household, alice, bob, staff)
    response = client.patch(f"/api/v1/profiles/{target.pk}", {"name": "Hacked"}, **headers)
    assert response.status_code == status
    assert _snapshot(target) == before


@pytest.mark.parametrize(("actor", "status"), DENIED)
def test_delete_denied_changes_nothing(household, alice, bob, staff, actor, status):
    target = household["locked"]
    client, headers = _actor(actor, household, alice, bob, staff)
    response = client.delete(f"/api/v1/profiles/{target.pk}", **headers)
    assert response.status_code == status
    assert Profile.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize(
    ("actor", "status"),
    [("anonymous", 401), ("other_account", 404), ("staff", 404), ("kids_profile", 403)],
)
def test_pin_change_denied_changes_nothing(household, alice, bob, staff, actor, status):
    target = household["main"]
    client, headers = _actor(actor, household, alice, bob, staff)
    response = client.put(
        f"/api/v1/profiles/{target.pk}/pin", {"password": PASSWORD, "pin": "0000"}, **headers
    )
    assert response.status_code == status
    assert _snapshot(target)[3] == ""


@pytest.mark.parametrize(
    ("actor", "status"), [("anonymous", 401), ("other_account", 404), ("staff", 404)]
)
def test_verify_pin_and_switch_denied_record_no_unlock(household, alice, bob, staff, actor, status):
    target = household["locked"]
    client, headers = _actor(actor, household, alice, bob, staff)
    assert client.post(f"/api/v1/profiles/{target.pk}/verify-pin", {"pin": "1234"}).status_code == (
        status
    )
    assert (
        client.post(f"/api/v1/profiles/{target.pk}/switch", {"pin": "1234"}).status_code == status
    )
    assert ProfileUnlock.objects.count() == 0


def test_owner_updates_and_deletes_an_unlocked_profile(household, token_api):
    target = household["main"]
    response = token_api.patch(f"/api/v1/profiles/{target.pk}", {"name": "Al", "language": "fr"})
    assert response.status_code == 200
    assert _snapshot(target)[0] == "Al"
    assert token_api.delete(f"/api/v1/profiles/{target.pk}").status_code == 204
    assert not Profile.objects.filter(pk=target.pk).exists()


def test_owner_changes_a_locked_profile_after_verifying_its_pin(household, token_api):
    target = household["locked"]
    assert token_api.patch(f"/api/v1/profiles/{target.pk}", {"name": "P2"}).status_code == 403
    response = token_api.post(f"/api/v1/profiles/{target.pk}/verify-pin", {"pin": "1234"})
    assert response.status_code == 200
    assert response.json()["unlocked_until"] is not None
    assert token_api.patch(f"/api/v1/profiles/{target.pk}", {"name": "P2"}).status_code == 200
    assert _snapshot(target)[0] == "P2"


# --- PINs and X-Profile-Id -----------------------------------------------------------------


def test_pin_unlock_belongs_to_the_token_that_verified_it(household, alice, token_api):
    locked = household["locked"]
    token_api.post(f"/api/v1/profiles/{locked.pk}/verify-pin", {"pin": "1234"})
    other_token = api_as(alice)
    header = {"HTTP_X_PROFILE_ID": str(locked.pk)}
    assert token_api.get("/api/v1/tokens", **header).status_code == 200
    response = other_token.get("/api/v1/tokens", **header)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "profile_locked"


def test_wrong_pins_are_throttled_with_a_cool_off(household, token_api, clock):
    locked = household["locked"]
    url = f"/api/v1/profiles/{locked.pk}/verify-pin"
    for _ in range(5):
        response = token_api.post(url, {"pin": "0000"})
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"pin": ["That PIN is not right."]}
    response = token_api.post(url, {"pin": "1234"})
    assert response.status_code == 429
    assert response.json()["error"]["retry_after"] == 300
    assert ProfileUnlock.objects.count() == 0
    clock.advance(301)
    assert token_api.post(url, {"pin": "1234"}).status_code == 200
    assert ProfileUnlock.objects.count() == 1


def test_pin_must_be_four_digits_and_needs_the_account_password(household, token_api):
    target = household["main"]
    url = f"/api/v1/profiles/{target.pk}/pin"
    assert token_api.put(url, {"password": PASSWORD, "pin": "12a4"}).status_code == 400
    wrong = token_api.put(url, {"password": "wrong", "pin": "1111"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"] == {"password": ["Your account password is incorrect."]}
    assert _snapshot(target)[3] == ""
    assert token_api.put(url, {"password": PASSWORD, "pin": "1111"}).json()["has_pin"] is True
    assert token_api.put(url, {"password": PASSWORD, "pin": None}).json()["has_pin"] is False


def test_pin_is_stored_hashed(household):
    assert household["locked"].pin_hash.startswith("md5$")
    assert "1234" not in household["locked"].pin_hash


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [("abc", 400, "invalid_profile"), ("999999", 403, "invalid_profile")],
)
def test_bad_profile_header_is_a_clear_4xx(household, token_api, header, status, code):
    response = token_api.get("/api/v1/tokens", HTTP_X_PROFILE_ID=header)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_header_naming_another_accounts_profile_is_refused(household, bob_profile, token_api):
    response = token_api.get("/api/v1/tokens", HTTP_X_PROFILE_ID=str(bob_profile.pk))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "X-Profile-Id names no profile of this account."


def test_request_profile_contract(household, alice, rf: RequestFactory):
    request = rf.get("/", HTTP_X_PROFILE_ID=str(household["main"].pk))
    request.user = alice
    assert selectors.request_profile(request) == household["main"]
    request = rf.get("/")
    request.user = alice
    request.session = {}  # type: ignore[assignment]
    assert selectors.request_profile(request, required=False) is None
    with pytest.raises(PermissionDenied) as exc:
        selectors.request_profile(request)
    assert exc.value.code == "profile_required"
    request = rf.get("/", HTTP_X_PROFILE_ID="x")
    request.user = alice
    with pytest.raises(ValidationFailed):
        selectors.request_profile(request, required=False)


def test_avatar_upload_is_resized_to_a_256_square_png(household, token_api, tmp_path, settings):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/media/"},
        },
    }
    buffer = io.BytesIO()
    Image.new("RGB", (800, 400), "red").save(buffer, format="JPEG")
    upload = SimpleUploadedFile("me.jpg", buffer.getvalue(), content_type="image/jpeg")
    target = household["main"]
    response = token_api.post(
        f"/api/v1/profiles/{target.pk}/avatar", {"image": upload}, format="multipart"
    )
    assert response.status_code == 200
    target.refresh_from_db()
    with target.avatar_image.open("rb") as stored:
        image = Image.open(stored)
        assert (image.format, image.size) == ("PNG", (256, 256))
    assert response.json()["avatar_url"] == target.avatar_image.url


def test_avatar_upload_refuses_a_file_that_is_not_an_image(household, token_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    target = household["main"]
    upload = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = token_api.post(
        f"/api/v1/profiles/{target.pk}/avatar", {"image": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"image": ["Not an image."]}
    target.refresh_from_db()
    assert not target.avatar_image


@pytest.mark.parametrize(("actor", "status"), [("other_account", 404), ("staff", 404)])
def test_reading_a_profile_of_another_account_is_404(household, bob, staff, actor, status):
    client = api_as(bob if actor == "other_account" else staff)
    response = client.get(f"/api/v1/profiles/{household['main'].pk}")
    assert response.status_code == status
    assert household["main"].name not in response.content.decode()  # nothing of it leaks


def test_owner_reads_a_profile(household, token_api):
    response = token_api.get(f"/api/v1/profiles/{household['kid'].pk}")
    assert (response.status_code, response.json()["name"]) == (200, "Kiddo")
