"""Starting playback: checks through the ports, the concurrent-stream lease, stopping a stream."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from playback import ports
from playback.models import PlaybackSession
from playback.services import sessions as services
from tests.playback.sessions.conftest import client_for
from tests.playback.sessions.factories import EpisodeFactory, ProfileFactory, TitleFactory

pytestmark = pytest.mark.django_db


def start(client, title, **extra):
    return client.post("/api/v1/playback/sessions", {"title_id": title.pk, **extra}, format="json")


class TestStart:
    def test_returns_what_a_player_needs(self, alice_client, movie, alice_profile):
        response = start(alice_client, movie, device="Living-room TV")
        assert response.status_code == 201
        body = response.json()
        session = PlaybackSession.objects.get()
        assert body["session_id"] == str(session.pk)
        # Signed by cdn.signing for this session's path and the address it started from.
        assert re.match(
            rf"^http://testserver/playback/t/[0-9a-f]{{8}}a/[\w-]{{22}}/\d+/session/{session.pk}/master\.m3u8$",
            body["master_playlist_url"],
        )
        assert body["heartbeat_url"] == (
            f"http://testserver/api/v1/playback/sessions/{session.pk}/heartbeat"
        )
        assert body["stop_url"] == f"http://testserver/api/v1/playback/sessions/{session.pk}/stop"
        assert body["lease_seconds"] == 75
        assert body["heartbeat_interval_seconds"] == 15
        assert body["resume_position_seconds"] == 0.0
        assert body["duration_seconds"] == 600
        assert body["max_resolution"] == 1080
        assert body["markers"] == {"intro_start": 5.0, "intro_end": 35.0, "credits_start": 570.0}
        assert body["title"] == {"id": movie.pk, "name": "The Long Take"}
        assert body["episode"] is None
        assert body["next_episode"] is None
        assert (session.profile, session.device, session.max_height) == (
            alice_profile,
            "Living-room TV",
            1080,
        )

    def test_device_defaults_to_the_browser_and_system(self, alice_client, movie, alice_profile):
        alice_client.credentials(
            HTTP_X_PROFILE_ID=str(alice_profile.pk),
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36",
        )
        start(alice_client, movie)
        assert PlaybackSession.objects.get().device == "Chrome on Linux"

    def test_resumes_where_the_profile_stopped(self, alice_client, movie, alice_profile):
        ports.record_progress(
            profile_id=alice_profile.pk, title_id=movie.pk, episode_id=None,
            position_seconds=123.5, duration_seconds=600, at=timezone.now(),
        )  # fmt: skip
        assert start(alice_client, movie).json()["resume_position_seconds"] == 123

    def test_finished_title_starts_from_the_beginning(self, alice_client, movie, alice_profile):
        ports.record_progress(
            profile_id=alice_profile.pk, title_id=movie.pk, episode_id=None,
            position_seconds=590, duration_seconds=600, at=timezone.now(),
        )  # fmt: skip
        assert start(alice_client, movie).json()["resume_position_seconds"] == 0.0

    def test_episode_knows_the_next_one(self, alice_client, media_root):
        first = EpisodeFactory(number=1, name="Pilot")
        second = EpisodeFactory(season=first.season, number=2, name="Second")
        from tests.playback.sessions.conftest import write_fake_asset

        write_fake_asset(media_root, f"episode-{first.pk}")
        response = alice_client.post(
            "/api/v1/playback/sessions", {"episode_id": first.pk}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert body["title"]["id"] == first.season.title_id
        assert body["episode"] == {"id": first.pk, "season": 1, "number": 1, "name": "Pilot"}
        assert body["next_episode"] == {"id": second.pk, "season": 1, "number": 2, "name": "Second"}

    def test_an_episode_resumes_at_its_own_position(
        self, alice_client, media_root, alice_profile, limit
    ):
        from tests.playback.sessions.conftest import write_fake_asset

        limit(max_streams=10)
        first = EpisodeFactory(number=1, name="Pilot")
        second = EpisodeFactory(season=first.season, number=2, name="Second")
        for episode in (first, second):
            write_fake_asset(media_root, f"episode-{episode.pk}")
        series = first.season.title
        for episode, position in ((first, 200), (second, 45)):
            ports.record_progress(
                profile_id=alice_profile.pk, title_id=series.pk, episode_id=episode.pk,
                position_seconds=position, duration_seconds=1200, at=timezone.now(),
            )  # fmt: skip

        def resume(episode):
            response = alice_client.post(
                "/api/v1/playback/sessions", {"episode_id": episode.pk}, format="json"
            )
            assert response.status_code == 201, response.content
            return response.json()["resume_position_seconds"]

        assert (resume(first), resume(second)) == (200, 45)
        third = EpisodeFactory(season=first.season, number=3, name="Third")
        write_fake_asset(media_root, f"episode-{third.pk}")
        assert resume(third) == 0.0

    def test_episode_of_another_title_is_400(self, alice_client, movie):
        episode = EpisodeFactory()
        response = alice_client.post(
            "/api/v1/playback/sessions",
            {"title_id": movie.pk, "episode_id": episode.pk},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "That episode belongs to another title."
        assert PlaybackSession.objects.count() == 0

    def test_nothing_to_play_is_400(self, alice_client):
        response = alice_client.post("/api/v1/playback/sessions", {}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "title_id": ["Give a title_id or an episode_id."]
        }

    def test_unknown_title_is_404(self, alice_client):
        response = alice_client.post("/api/v1/playback/sessions", {"title_id": 999}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such title."

    def test_title_without_video_is_404(self, alice_client, media_root):
        title = TitleFactory()
        response = start(alice_client, title)
        assert response.status_code == 404
        assert response.json()["error"] == {
            "status": 404,
            "code": "no_media",
            "message": "This title has no playable video yet.",
        }

    def test_malformed_profile_header_is_400(self, alice, movie):
        client = client_for(alice)
        client.credentials(HTTP_X_PROFILE_ID="abc")
        response = start(client, movie)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == (
            "X-Profile-Id must be a profile id (an integer)."
        )

    def test_account_without_a_chosen_profile_is_told_to_choose_one(self, alice, movie):
        response = start(client_for(alice), movie)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "profile_required"
        assert PlaybackSession.objects.count() == 0


class TestRefusals:
    def test_plan_without_streaming_is_refused_with_its_reason(self, alice_client, movie, limit):
        limit(can_stream=False, reason="Your payment failed; update your card to keep watching.")
        response = start(alice_client, movie)
        assert response.status_code == 403
        assert response.json()["error"] == {
            "status": 403,
            "code": "not_entitled",
            "message": "Your payment failed; update your card to keep watching.",
            "action": {"url": "/account/billing/", "label": "Go to billing"},
        }
        assert PlaybackSession.objects.count() == 0

    def test_unpublished_title_is_refused(self, alice_client, media_root):
        from tests.playback.sessions.conftest import write_fake_asset

        title = TitleFactory(name="Draft", is_published=False)
        write_fake_asset(media_root, f"title-{title.pk}")
        response = start(alice_client, title)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "unavailable"
        assert response.json()["error"]["message"] == "“Draft” is not available to watch."
        assert PlaybackSession.objects.count() == 0

    @pytest.mark.parametrize(
        ("code", "message"),
        [
            ("maturity", "This title is rated for adults; Kid's profile is for kids."),
            ("region", "Not available in your country (DE)."),
        ],
    )
    def test_availability_and_maturity_refusals_come_from_the_port(
        self, alice_client, movie, monkeypatch, code, message
    ):
        seen = {}

        def refuse(*, profile, title, episode, country):
            seen.update(profile=profile.name, title=title.pk, country=country)
            return ports.Refusal(code, message)

        monkeypatch.setattr(ports, "check_viewing_allowed", refuse)
        response = start(alice_client, movie)
        assert response.status_code == 403
        assert response.json()["error"] == {"status": 403, "code": code, "message": message}
        assert seen == {"profile": "Alice", "title": movie.pk, "country": "US"}
        assert PlaybackSession.objects.count() == 0

    def test_profile_of_another_account_is_403(self, alice, movie, bob_profile):
        response = start(client_for(alice), movie, profile_id=bob_profile.pk)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "invalid_profile"
        assert PlaybackSession.objects.count() == 0

    def test_anonymous_is_401(self, api, movie):
        assert start(api, movie).status_code == 401
        assert PlaybackSession.objects.count() == 0


class TestStreamLimit:
    def test_stream_over_the_limit_is_refused_naming_the_devices(
        self, alice_client, alice, alice_kid, movie, limit
    ):
        limit(max_streams=2)
        first = start(alice_client, movie, device="Living-room TV").json()["session_id"]
        kid = client_for(alice, alice_kid)
        second = start(kid, movie, device="Kid's tablet").json()["session_id"]
        response = start(alice_client, movie, device="Phone")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "too_many_streams"
        assert error["message"] == (
            "Your plan allows 2 streams at a time and 2 are playing: "
            f"Living-room TV (Alice, session {first}), Kid's tablet (Kid, session {second}). "
            "Stop one of them (DELETE /api/v1/playback/sessions/<id>) to watch here."
        )
        assert [(s["id"], s["device"], s["profile"]) for s in error["sessions"]] == [
            (first, "Living-room TV", "Alice"),
            (second, "Kid's tablet", "Kid"),
        ]
        assert PlaybackSession.objects.count() == 2

    def test_accepted_again_once_a_lease_expires(self, alice, alice_profile, movie, limit):
        limit(max_streams=1)
        t0 = timezone.now()
        services.session_start(account=alice, profile=alice_profile, title=movie, now=t0)
        with pytest.raises(services.Conflict):
            services.session_start(
                account=alice, profile=alice_profile, title=movie, now=t0 + timedelta(seconds=74)
            )
        later = services.session_start(
            account=alice, profile=alice_profile, title=movie, now=t0 + timedelta(seconds=76)
        )
        assert later.session.expires_at == t0 + timedelta(seconds=76 + 75)
        assert PlaybackSession.objects.live(t0 + timedelta(seconds=76)).count() == 1

    def test_heartbeats_keep_the_lease(self, alice, alice_profile, movie, limit):
        limit(max_streams=1)
        t0 = timezone.now()
        started = services.session_start(account=alice, profile=alice_profile, title=movie, now=t0)
        services.session_heartbeat(
            account=alice, session_id=started.session.pk, seq=1, position=60,
            now=t0 + timedelta(seconds=60),
        )  # fmt: skip
        with pytest.raises(services.Conflict):
            services.session_start(
                account=alice, profile=alice_profile, title=movie, now=t0 + timedelta(seconds=100)
            )

    def test_other_accounts_do_not_count(self, alice_client, bob, bob_profile, movie, limit):
        limit(max_streams=1)
        assert start(client_for(bob, bob_profile), movie).status_code == 201
        assert start(alice_client, movie).status_code == 201
        assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 2

    def test_stopping_one_frees_its_slot(self, alice_client, alice, alice_kid, movie, limit):
        limit(max_streams=1)
        session_id = start(alice_client, movie).json()["session_id"]
        kid = client_for(alice, alice_kid)
        assert start(kid, movie).status_code == 409
        # Another profile of the same account may stop it: it is the household's slot.
        assert kid.delete(f"/api/v1/playback/sessions/{session_id}").status_code == 204
        assert PlaybackSession.objects.get(pk=session_id).end_reason == "terminated"
        assert start(kid, movie).status_code == 201


class TestTerminateAuthorisation:
    @pytest.fixture
    def session_id(self, alice_client, movie):
        return start(alice_client, movie).json()["session_id"]

    def test_anonymous_is_401(self, api, session_id):
        assert api.delete(f"/api/v1/playback/sessions/{session_id}").status_code == 401
        assert PlaybackSession.objects.get().ended_at is None

    def test_another_account_is_404(self, bob, bob_profile, session_id):
        response = client_for(bob, bob_profile).delete(f"/api/v1/playback/sessions/{session_id}")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such playback session."
        assert PlaybackSession.objects.get().ended_at is None

    def test_staff_is_404(self, staff, session_id):
        response = client_for(staff).delete(f"/api/v1/playback/sessions/{session_id}")
        assert response.status_code == 404
        assert PlaybackSession.objects.get().ended_at is None

    def test_owner_stops_it(self, alice_client, session_id):
        assert alice_client.delete(f"/api/v1/playback/sessions/{session_id}").status_code == 204
        assert PlaybackSession.objects.get().end_reason == "terminated"


class TestListStreams:
    def test_lists_live_streams_of_every_profile(self, alice_client, alice, alice_kid, movie):
        first = start(alice_client, movie, device="TV").json()["session_id"]
        second = start(client_for(alice, alice_kid), movie, device="Tablet").json()["session_id"]
        body = alice_client.get("/api/v1/playback/sessions").json()
        assert [(s["id"], s["device"], s["profile"], s["title"]) for s in body] == [
            (first, "TV", "Alice", "The Long Take"),
            (second, "Tablet", "Kid", "The Long Take"),
        ]

    @pytest.mark.parametrize("streams", [1, 4])
    def test_query_count_does_not_grow(
        self, alice_client, alice, movie, limit, streams, django_assert_num_queries
    ):
        limit(max_streams=10)
        for i in range(streams):
            profile = ProfileFactory(account=alice, name=f"P{i}")
            services.session_start(account=alice, profile=profile, title=movie)
        with django_assert_num_queries(1):
            response = alice_client.get("/api/v1/playback/sessions")
        assert len(response.json()) == streams


def test_openapi_schema_documents_the_playback_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert sorted(p for p in paths if p.startswith("/api/v1/playback")) == [
        "/api/v1/playback/sessions",
        "/api/v1/playback/sessions/{session_id}",
        "/api/v1/playback/sessions/{session_id}/heartbeat",
        "/api/v1/playback/sessions/{session_id}/stop",
    ]
    assert sorted(paths["/api/v1/playback/sessions"]) == ["get", "post"]
    stop_body = paths["/api/v1/playback/sessions/{session_id}/stop"]["post"]["requestBody"]
    # Documented as JSON (the contract); the player's stop beacon still posts a form.
    assert sorted(stop_body["content"]) == ["application/json"]
