"""One profile rule for playback: a body `profile_id` is checked exactly like `X-Profile-Id`
(the account's, PIN verified for this token or session), so it cannot start a locked profile's
R-rated title from a Kids header (issue 13)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from accounts import services as account_services
from playback.models import PlaybackSession, Progress, ViewingEvent
from tests.playback.sessions.conftest import write_fake_asset
from tests.playback.sessions.factories import ProfileFactory, TitleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def r_rated(media_root):
    title = TitleFactory(name="Night Shift", slug="night-shift", rating="R")
    write_fake_asset(media_root, f"title-{title.pk}")
    return title


@pytest.fixture
def locked(alice):
    return ProfileFactory(account=alice, name="Private", pin_hash=make_password("1234"))


@pytest.fixture
def token(alice):
    _, plaintext = account_services.api_token_create(user=alice, name="tv")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def _nothing_written():
    return (
        PlaybackSession.objects.count(),
        Progress.objects.count(),
        ViewingEvent.objects.count(),
    ) == (0, 0, 0)


def test_body_profile_id_of_a_locked_profile_under_a_kids_header_is_refused(
    token, alice_kid, locked, r_rated
):
    response = token.post(
        "/api/v1/playback/sessions",
        {"title_id": r_rated.pk, "profile_id": locked.pk},
        format="json",
        HTTP_X_PROFILE_ID=str(alice_kid.pk),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "profile_conflict"
    assert response.json()["error"]["fields"] == {"profile_id": ["Does not match X-Profile-Id."]}
    assert _nothing_written()


def test_body_profile_id_of_a_locked_profile_alone_is_refused_until_its_pin_is_verified(
    token, locked, r_rated
):
    body = {"title_id": r_rated.pk, "profile_id": locked.pk}
    response = token.post("/api/v1/playback/sessions", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "profile_locked"
    assert _nothing_written()

    verified = token.post(f"/api/v1/profiles/{locked.pk}/verify-pin", {"pin": "1234"})
    assert verified.status_code == 200
    started = token.post("/api/v1/playback/sessions", body, format="json")
    assert started.status_code == 201
    assert PlaybackSession.objects.get().profile == locked


def test_body_profile_id_is_held_to_the_profiles_maturity(token, alice_kid, r_rated):
    response = token.post(
        "/api/v1/playback/sessions",
        {"title_id": r_rated.pk, "profile_id": alice_kid.pk},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "maturity"
    assert _nothing_written()


def test_browser_session_cannot_name_a_locked_profile_in_the_body(
    alice, alice_kid, locked, r_rated
):
    client = APIClient()
    client.force_login(alice)
    assert client.post(f"/api/v1/profiles/{alice_kid.pk}/switch", {}).status_code == 200
    response = client.post(
        "/api/v1/playback/sessions",
        {"title_id": r_rated.pk, "profile_id": locked.pk},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "profile_locked"
    assert _nothing_written()
