"""Heartbeats renew the lease and buffer positions; flushing, stopping, authorisation."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.utils import timezone
from rest_framework.test import APIClient

from playback import ports
from playback.models import PlaybackSession, Progress
from playback.services import positions
from playback.services import sessions as services
from playback.tasks import flush_positions
from tests.playback.sessions.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_id(alice_client, movie):
    response = alice_client.post("/api/v1/playback/sessions", {"title_id": movie.pk}, format="json")
    return response.json()["session_id"]


def beat(client, session_id, seq, position, **extra):
    return client.post(
        f"/api/v1/playback/sessions/{session_id}/heartbeat",
        {"seq": seq, "position": position, **extra},
        format="json",
    )


def stored_position():
    return list(Progress.objects.values_list("position_seconds", flat=True))


@pytest.fixture(params=["configured", "database"])
def buffer(request, monkeypatch):
    """Run with the configured buffer (Redis when REDIS_URL is set) and the database fallback."""
    if request.param == "database":
        monkeypatch.setattr(positions, "uses_redis_buffer", lambda: False)
    return request.param


class TestHeartbeat:
    def test_renews_the_lease_and_buffers_until_the_flush(self, alice_client, session_id, buffer):
        response = beat(alice_client, session_id, 1, 42.5, duration=600, state="playing")
        assert response.status_code == 200
        body = response.json()
        assert body["session_id"] == session_id
        assert body["applied"] is True
        session = PlaybackSession.objects.get()
        assert session.state == "playing"
        assert session.last_heartbeat_at is not None
        # Redis holds the hot position; without Redis the session row does.
        assert session.last_seq == (-1 if positions.uses_redis_buffer() else 1)
        assert stored_position() == []  # buffered, not yet written
        assert flush_positions() == 1
        assert stored_position() == [42]
        assert flush_positions() == 0  # nothing left: the flush is idempotent

    def test_duplicate_and_older_heartbeats_never_move_the_position_back(
        self, alice_client, session_id, buffer
    ):
        assert beat(alice_client, session_id, 2, 20).json()["applied"] is True
        assert beat(alice_client, session_id, 1, 10).json()["applied"] is False
        assert beat(alice_client, session_id, 2, 20).json()["applied"] is False
        flush_positions()
        assert stored_position() == [20]
        assert beat(alice_client, session_id, 3, 30).json()["applied"] is True
        assert beat(alice_client, session_id, 1, 5).json()["applied"] is False
        flush_positions()
        assert stored_position() == [30]

    def test_a_heartbeat_arriving_during_a_flush_is_not_lost(
        self, alice_client, session_id, buffer, monkeypatch
    ):
        beat(alice_client, session_id, 1, 10)
        original = services.ports.record_progress

        def record_then_beat(**kwargs):
            original(**kwargs)
            monkeypatch.setattr(services.ports, "record_progress", original)
            beat(alice_client, session_id, 2, 25)  # lands between the write and the ack

        monkeypatch.setattr(services.ports, "record_progress", record_then_beat)
        flush_positions()
        assert stored_position() == [10]
        assert flush_positions() == 1
        assert stored_position() == [25]

    def test_older_flush_never_overwrites_a_newer_stored_position(self, alice_profile, movie):
        now = timezone.now()
        ports.record_progress(
            profile_id=alice_profile.pk, title_id=movie.pk, episode_id=None,
            position_seconds=300, duration_seconds=600, at=now,
        )  # fmt: skip
        ports.record_progress(
            profile_id=alice_profile.pk, title_id=movie.pk, episode_id=None,
            position_seconds=100, duration_seconds=600, at=now - timedelta(seconds=30),
        )  # fmt: skip
        assert stored_position() == [300]

    def test_negative_position_is_400(self, alice_client, session_id):
        response = beat(alice_client, session_id, 1, -3)
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "position": ["Ensure this value is greater than or equal to 0."]
        }

    def test_missing_seq_is_400(self, alice_client, session_id):
        response = alice_client.post(
            f"/api/v1/playback/sessions/{session_id}/heartbeat", {"position": 3}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"seq": ["This field is required."]}

    def test_heartbeat_after_the_stream_was_stopped_elsewhere_is_409(
        self, alice_client, session_id
    ):
        alice_client.delete(f"/api/v1/playback/sessions/{session_id}")
        response = beat(alice_client, session_id, 1, 10)
        assert response.status_code == 409
        assert response.json()["error"] == {
            "status": 409,
            "code": "session_ended",
            "message": "This playback session was stopped from another device. "
            "Start playback again to continue.",
        }

    def test_lapsed_lease_is_taken_again_when_there_is_room(self, alice, alice_profile, movie):
        t0 = timezone.now()
        started = services.session_start(account=alice, profile=alice_profile, title=movie, now=t0)
        later = t0 + timedelta(seconds=300)
        result = services.session_heartbeat(
            account=alice, session_id=started.session.pk, seq=1, position=50, now=later
        )
        assert result.session.expires_at == later + timedelta(seconds=75)
        assert PlaybackSession.objects.live(later).count() == 1

    def test_lapsed_lease_is_refused_when_another_stream_took_the_slot(
        self, alice, alice_profile, alice_kid, movie, limit
    ):
        limit(max_streams=1)
        t0 = timezone.now()
        first = services.session_start(account=alice, profile=alice_profile, title=movie, now=t0)
        later = t0 + timedelta(seconds=100)
        services.session_start(account=alice, profile=alice_kid, title=movie, now=later)
        with pytest.raises(services.Conflict) as refused:
            services.session_heartbeat(
                account=alice, session_id=first.session.pk, seq=1, position=50, now=later
            )
        assert refused.value.code == "too_many_streams"
        assert PlaybackSession.objects.live(later).count() == 1


class TestHeartbeatAuthorisation:
    def test_anonymous_is_401(self, api, session_id):
        assert beat(api, session_id, 1, 10).status_code == 401
        assert PlaybackSession.objects.get().last_heartbeat_at is None

    def test_another_account_is_404(self, bob, bob_profile, session_id):
        response = beat(client_for(bob, bob_profile), session_id, 1, 10)
        assert response.status_code == 404
        assert PlaybackSession.objects.get().last_heartbeat_at is None
        assert flush_positions() == 0

    def test_another_profile_of_the_account_is_404(self, alice, alice_kid, session_id):
        response = beat(client_for(alice, alice_kid), session_id, 1, 10)
        assert response.status_code == 404
        assert PlaybackSession.objects.get().last_heartbeat_at is None
        assert flush_positions() == 0

    def test_staff_is_404(self, staff, session_id):
        assert beat(client_for(staff), session_id, 1, 10).status_code == 404
        assert PlaybackSession.objects.get().last_heartbeat_at is None

    def test_owner_without_a_profile_header_may_beat(self, alice, session_id):
        response = beat(client_for(alice), session_id, 1, 10)
        assert response.status_code == 200
        assert PlaybackSession.objects.get().last_heartbeat_at is not None

    def test_stop_by_another_profile_is_404_and_changes_nothing(self, alice, alice_kid, session_id):
        response = client_for(alice, alice_kid).post(
            f"/api/v1/playback/sessions/{session_id}/stop", {"seq": 5, "position": 99}
        )
        assert response.status_code == 404
        session = PlaybackSession.objects.get()
        assert session.ended_at is None
        assert stored_position() == []


class TestStop:
    def test_stop_records_the_last_position_at_once(self, alice_client, session_id, buffer):
        beat(alice_client, session_id, 1, 30)
        response = alice_client.post(
            f"/api/v1/playback/sessions/{session_id}/stop",
            {"seq": 2, "position": 42, "duration": 600},
            format="json",
        )
        assert response.status_code == 204
        assert stored_position() == [42.0]  # no flush task needed
        session = PlaybackSession.objects.get()
        assert session.end_reason == "stopped"
        assert session.is_live(timezone.now()) is False
        assert flush_positions() == 0

    def test_stop_twice_changes_nothing_the_second_time(self, alice_client, session_id):
        url = f"/api/v1/playback/sessions/{session_id}/stop"
        assert alice_client.post(url, {"seq": 1, "position": 12}, format="json").status_code == 204
        ended_at = PlaybackSession.objects.get().ended_at
        assert alice_client.post(url, {"seq": 2, "position": 99}, format="json").status_code == 204
        assert PlaybackSession.objects.get().ended_at == ended_at
        assert stored_position() == [12.0]

    def test_stop_accepts_a_send_beacon_form_with_the_csrf_token(
        self, alice, alice_profile, session_id
    ):
        browser = APIClient(enforce_csrf_checks=True)
        browser.force_login(alice)
        token = _get_new_csrf_string()
        browser.cookies["csrftoken"] = token
        url = f"/api/v1/playback/sessions/{session_id}/stop"
        body = {"seq": 3, "position": 77.5, "duration": 600}
        refused = browser.post(
            url, urlencode(body), content_type="application/x-www-form-urlencoded"
        )
        assert refused.status_code == 403  # no CSRF token: the beacon must carry one
        assert PlaybackSession.objects.get().ended_at is None
        response = browser.post(
            url,
            urlencode({**body, "csrfmiddlewaretoken": token}),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 204
        assert stored_position() == [77]
        assert PlaybackSession.objects.get().end_reason == "stopped"

    def test_a_beacon_form_with_an_unknown_field_is_refused_by_name(
        self, alice, alice_profile, session_id
    ):
        browser = APIClient(enforce_csrf_checks=True)
        browser.force_login(alice)
        token = _get_new_csrf_string()
        browser.cookies["csrftoken"] = token
        response = browser.post(
            f"/api/v1/playback/sessions/{session_id}/stop",
            urlencode({"seq": 3, "position": 77.5, "positon": 80, "csrfmiddlewaretoken": token}),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"positon": ["Unknown field."]}
        assert PlaybackSession.objects.get().ended_at is None
