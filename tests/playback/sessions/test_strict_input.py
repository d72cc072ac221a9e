"""Strict input at the edge of playback (issues 13 and 16): positions, durations and sequence
numbers are finite and bounded; anything else is a 400 naming the field, nothing is stored, and
other viewers' progress keeps flushing."""

from __future__ import annotations

import pytest
from django.middleware.csrf import _get_new_csrf_string

from playback.models import PlaybackSession, Progress
from playback.tasks import flush_positions as playback_flush_positions
from tests.playback.sessions.conftest import client_for

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


@pytest.fixture
def sessions(alice, alice_profile, alice_kid, movie):
    """Two viewers of the same account, each with a session."""
    alice_api = client_for(alice, alice_profile)
    kid_api = client_for(alice, alice_kid)
    ids = [
        c.post("/api/v1/playback/sessions", {"title_id": movie.pk}, format="json").json()[
            "session_id"
        ]
        for c in (alice_api, kid_api)
    ]
    return (alice_api, ids[0]), (kid_api, ids[1])


def _heartbeat_url(session_id: str) -> str:
    return f"/api/v1/playback/sessions/{session_id}/heartbeat"


def _stop_url(session_id: str) -> str:
    return f"/api/v1/playback/sessions/{session_id}/stop"


def _snapshot():
    return list(
        PlaybackSession.objects.order_by("created_at").values_list(
            "last_seq", "position_seconds", "duration_seconds", "ended_at"
        )
    ), list(Progress.objects.values_list("profile_id", "position_seconds"))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"seq": HUGE, "position": "10"}, "seq", "Ensure this number fits in 64 bits."),
        ({"seq": str(2**63), "position": "10"}, "seq", "Ensure this number fits in 64 bits."),
        ({"seq": "1", "position": "nan"}, "position", "A finite number is required."),
        ({"seq": "1", "position": "inf"}, "position", "A finite number is required."),
        ({"seq": "1", "position": "-inf"}, "position", "A finite number is required."),
        (
            {"seq": "1", "position": "1e300"},
            "position",
            "Ensure this value is less than or equal to",
        ),
        ({"seq": "1", "position": "5", "duration": "NaN"}, "duration", "A finite number"),
    ],
)
@pytest.mark.parametrize("endpoint", ["heartbeat", "stop"])
def test_non_finite_or_unbounded_numbers_are_a_field_error_and_nothing_is_stored(
    sessions, endpoint, body, field, message
):
    (alice_api, alice_session), _ = sessions
    before = _snapshot()
    url = _heartbeat_url(alice_session) if endpoint == "heartbeat" else _stop_url(alice_session)
    # A form body: what navigator.sendBeacon sends, and where "nan" is a float to Python.
    response = alice_api.post(url, body, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert error["fields"][field][0].startswith(message)
    assert _snapshot() == before


def test_json_numbers_beyond_64_bits_or_infinite_are_refused_at_the_boundary(sessions):
    (alice_api, alice_session), _ = sessions
    before = _snapshot()
    huge = alice_api.post(
        _heartbeat_url(alice_session),
        data=f'{{"seq": {HUGE}, "position": 10}}',
        content_type="application/json",
    )
    assert huge.status_code == 400
    assert huge.json()["error"]["fields"] == {"seq": ["Ensure this number fits in 64 bits."]}
    infinite = alice_api.post(
        _heartbeat_url(alice_session),
        data='{"seq": 1, "position": 1e400}',
        content_type="application/json",
    )
    assert infinite.status_code == 400
    assert infinite.json()["error"]["fields"] == {"position": ["A finite number is required."]}
    assert _snapshot() == before


def test_a_refused_position_leaves_other_viewers_progress_flushing(sessions, alice_kid):
    (alice_api, alice_session), (kid_api, kid_session) = sessions
    assert (
        alice_api.post(
            _stop_url(alice_session), {"seq": "1", "position": "nan"}, format="multipart"
        ).status_code
        == 400
    )
    ok = kid_api.post(_heartbeat_url(kid_session), {"seq": 1, "position": 42.5}, format="json")
    assert ok.status_code == 200
    assert playback_flush_positions() == 1
    assert list(Progress.objects.values_list("profile_id", "position_seconds")) == [
        (alice_kid.pk, 42)
    ]


def test_a_beacon_with_a_csrf_token_and_nan_is_still_refused(alice, alice_profile, movie):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    session = browser.session
    session["accounts_profile_id"] = alice_profile.pk
    session.save()
    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token
    started = browser.post(
        "/api/v1/playback/sessions",
        {"title_id": movie.pk},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert started.status_code == 201
    session_id = started.json()["session_id"]
    response = browser.post(
        _stop_url(session_id),
        {"seq": "3", "position": "nan", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"position": ["A finite number is required."]}
    assert PlaybackSession.objects.get().ended_at is None
