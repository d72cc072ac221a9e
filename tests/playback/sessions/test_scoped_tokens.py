"""Media tokens scoped to the session: exactly the renditions its plan allows, and only while
the session is live and entitled (tokens live one heartbeat interval; heartbeats renew them
after re-checking the entitlement, maturity and region; so do master-playlist fetches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import m3u8
import pytest
from django.utils import timezone

from billing import entitlements as billing_entitlements
from billing.models import Subscription
from cdn import signing
from playback.models import PlaybackSession
from playback.services import sessions as services
from streamsite.errors import Conflict, PermissionDenied

pytestmark = pytest.mark.django_db

T = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def start(client, title):
    response = client.post("/api/v1/playback/sessions", {"title_id": title.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def beat(client, body, seq=1, position=12.5):
    return client.post(body["heartbeat_url"], {"seq": seq, "position": position}, format="json")


def variants(playlist):
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def key_of(title):
    return f"hls/title-{title.pk}/local/"


def head_of(token):
    """`t/<kid><bind>/<md5>/<exp>/` of a signed scope path."""
    return token.split("/hls/", 1)[0] + "/"


class TestRenditionScope:
    def test_a_720p_session_gets_403_on_every_1080p_file_and_the_uncapped_master(
        self, client, alice_client, movie, limit
    ):
        limit(max_resolution=720)
        body = start(alice_client, movie)
        key = key_of(movie)
        assert sorted(body["media_tokens"]) == [key + "360p/", key + "720p/"]

        master = client.get(body["master_playlist_url"]).content.decode()
        listed = variants(master)
        assert [u.rsplit("/", 2)[-2] for u in listed] == ["360p", "720p"]
        for uri in listed:
            assert client.get(uri).status_code == 200
            assert client.get(uri.replace("index.m3u8", "seg_000.ts")).status_code == 200

        for token in body["media_tokens"].values():
            head = "/media/" + head_of(token)
            for path in ("1080p/index.m3u8", "1080p/seg_000.ts", "master.m3u8"):
                assert client.get(head + key + path).status_code == 403, path
        # the same file under the scope the token was made for is served
        assert (
            client.get("/media/" + body["media_tokens"][key + "720p/"] + "seg_000.ts").status_code
            == 200
        )

    def test_a_1080p_session_gets_every_rung_but_never_the_uncapped_master(
        self, client, alice_client, movie
    ):
        body = start(alice_client, movie)
        key = key_of(movie)
        assert sorted(body["media_tokens"]) == [key + "1080p/", key + "360p/", key + "720p/"]
        for token in body["media_tokens"].values():
            assert client.get("/media/" + head_of(token) + key + "master.m3u8").status_code == 403


class TestTokensLiveOneHeartbeatInterval:
    def test_start_and_each_heartbeat_hand_out_tokens_that_expire_one_interval_later(
        self, alice, alice_profile, movie, settings
    ):
        settings.PLAYBACK_HEARTBEAT_SECONDS = 15
        started = services.session_start(account=alice, profile=alice_profile, title=movie, now=T)
        assert started.access.expires_at == T + timedelta(seconds=15)
        result = services.session_heartbeat(
            account=alice,
            session_id=started.session.pk,
            seq=1,
            position=9,
            now=T + timedelta(seconds=10),
        )
        assert result.access is not None
        assert result.access.expires_at == T + timedelta(seconds=25)
        token = result.access.tokens[key_of(movie) + "720p/"]
        assert signing.verify_path(
            token + "seg_000.ts", client_ip=None, now=T + timedelta(seconds=25)
        ).path
        with pytest.raises(PermissionDenied) as exc:
            signing.verify_path(token + "seg_000.ts", client_ip=None, now=T + timedelta(seconds=26))
        assert exc.value.code == "expired"

    def test_a_stopped_session_gets_no_more_tokens_and_its_last_ones_die_within_an_interval(
        self, alice, alice_profile, movie, settings
    ):
        settings.PLAYBACK_HEARTBEAT_SECONDS = 15
        started = services.session_start(account=alice, profile=alice_profile, title=movie, now=T)
        last = services.session_heartbeat(
            account=alice,
            session_id=started.session.pk,
            seq=1,
            position=5,
            now=T + timedelta(seconds=10),
        )
        stopped_at = T + timedelta(seconds=12)
        services.session_stop(account=alice, session_id=started.session.pk, now=stopped_at)
        with pytest.raises(Conflict) as exc:
            services.session_heartbeat(
                account=alice,
                session_id=started.session.pk,
                seq=2,
                position=6,
                now=T + timedelta(seconds=20),
            )
        assert exc.value.code == "session_ended"
        assert last.access is not None
        assert last.access.expires_at - stopped_at <= timedelta(seconds=15)
        assert last.access.expires_at == T + timedelta(seconds=25)

    def test_a_session_that_lost_its_lease_to_another_gets_no_tokens(
        self, client, alice, alice_profile, movie, limit, settings
    ):
        limit(max_streams=1)
        now = timezone.now()
        first = services.session_start(
            account=alice, profile=alice_profile, title=movie, now=now - timedelta(seconds=200)
        )
        services.session_start(account=alice, profile=alice_profile, title=movie, now=now)
        with pytest.raises(Conflict) as exc:
            services.session_heartbeat(
                account=alice, session_id=first.session.pk, seq=1, position=3, now=now
            )
        assert exc.value.code == "too_many_streams"
        response = client.get(first.master_path)
        assert response.status_code == 403
        assert b"lost its stream slot" in response.content


class TestHeartbeatsRecheck:
    def test_a_canceled_subscription_ends_the_session_at_the_next_heartbeat(
        self, client, alice, alice_client, movie
    ):
        body = start(alice_client, movie)
        assert beat(alice_client, body, seq=1).status_code == 200
        Subscription.objects.filter(account=alice).update(
            status="canceled", ended_at=timezone.now()
        )
        billing_entitlements.invalidate(alice.pk)

        response = beat(alice_client, body, seq=2)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_entitled"
        session = PlaybackSession.objects.get(pk=body["session_id"])
        assert (session.ended_at is not None, session.end_reason) == (True, "not_entitled")
        assert "media_tokens" not in response.json()
        assert client.get(body["master_playlist_url"]).status_code == 404

    def test_a_blocked_account_gets_no_master_playlist(self, client, alice_client, movie, limit):
        body = start(alice_client, movie)
        limit(can_stream=False, reason="Your payment failed.")
        response = client.get(body["master_playlist_url"])
        assert response.status_code == 403
        assert b"Your payment failed." in response.content
        assert PlaybackSession.objects.get(pk=body["session_id"]).end_reason == "not_entitled"

    def test_a_downgraded_plan_gets_tokens_for_the_lower_rungs_only(
        self, alice_client, movie, limit
    ):
        body = start(alice_client, movie)
        key = key_of(movie)
        assert key + "1080p/" in body["media_tokens"]
        limit(max_resolution=720)
        response = beat(alice_client, body)
        assert response.status_code == 200
        data = response.json()
        assert data["max_resolution"] == 720
        assert sorted(data["media_tokens"]) == [key + "360p/", key + "720p/"]
        assert PlaybackSession.objects.get(pk=body["session_id"]).max_height == 720

    def test_a_title_now_above_the_profiles_maturity_stops_at_the_next_heartbeat(
        self, client, alice_client, alice_profile, movie
    ):
        body = start(alice_client, movie)
        alice_profile.maturity = 10  # kids
        alice_profile.save(update_fields=["maturity"])
        movie.rating = "R"
        movie.save()

        response = beat(alice_client, body)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "maturity"
        assert PlaybackSession.objects.get(pk=body["session_id"]).end_reason == "maturity"
        assert client.get(body["master_playlist_url"]).status_code == 404

    def test_a_live_entitled_heartbeat_renews_the_same_scopes(self, alice_client, movie):
        body = start(alice_client, movie)
        data = beat(alice_client, body).json()
        assert sorted(data["media_tokens"]) == sorted(body["media_tokens"])
        assert data["max_resolution"] == 1080


def write_audio_group(folder, languages=("eng", "spa")):
    """Give a fake local asset an audio group: one folder per language, named in the master
    as EXT-X-MEDIA TYPE=AUDIO, the variants referencing it (the pipeline's layout)."""
    master = folder / "master.m3u8"
    lines = master.read_text().splitlines()
    media = []
    for i, language in enumerate(languages):
        name = f"audio_{language}"
        (folder / name).mkdir(exist_ok=True)
        (folder / name / "index.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
        (folder / name / "seg_000.ts").write_bytes(bytes(range(256)) * 2)
        media.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="{language}",NAME="{language}",'
            f'DEFAULT={"YES" if i == 0 else "NO"},AUTOSELECT=YES,URI="{name}/index.m3u8"'
        )
    lines = (
        lines[:2]
        + media
        + [
            line.replace('CODECS="avc1.64001f"', 'CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"')
            for line in lines[2:]
        ]
    )
    master.write_text("\n".join(lines) + "\n")


class TestAudioScope:
    @pytest.fixture
    def dubbed(self, media_root):
        from tests.playback.sessions.conftest import write_fake_asset
        from tests.playback.sessions.factories import TitleFactory

        def make(name):
            title = TitleFactory(name=name, slug=name.lower().replace(" ", "-"))
            write_audio_group(write_fake_asset(media_root, f"title-{title.pk}"))
            return title

        return make

    def test_a_capped_session_may_fetch_every_audio_rendition_of_its_title_and_no_other(
        self, client, alice_client, limit, dubbed
    ):
        limit(max_resolution=360)
        mine, other = dubbed("Dubbed"), dubbed("Other Dubbed")
        body = start(alice_client, mine)
        key = key_of(mine)
        assert sorted(body["media_tokens"]) == [
            key + "360p/",
            key + "audio_eng/",
            key + "audio_spa/",
        ]
        master = client.get(body["master_playlist_url"]).content.decode()
        parsed = m3u8.loads(master)
        audio = [m for m in parsed.media if m.type == "AUDIO"]
        # One audio group per listed edge/origin copy, every URI signed for its own scope.
        assert {(m.language, m.uri.rsplit("/", 2)[-2]) for m in audio} == {
            ("eng", "audio_eng"),
            ("spa", "audio_spa"),
        }
        assert {p.stream_info.audio for p in parsed.playlists} == {m.group_id for m in audio}
        for m in audio:
            assert client.get(m.uri).status_code == 200
            assert client.get(m.uri.replace("index.m3u8", "seg_000.ts")).status_code == 200

        other_key = key_of(other)
        for scope, token in body["media_tokens"].items():
            head = "/media/" + head_of(token)
            # Another title's audio under this session's tokens: refused, as its video is.
            for path in ("audio_eng/index.m3u8", "audio_eng/seg_000.ts", "audio_spa/seg_000.ts"):
                assert client.get(head + other_key + path).status_code == 403, (scope, path)
            # A token for one language's folder opens that folder only.
            if scope.endswith("audio_eng/"):
                assert client.get(head + key + "audio_spa/seg_000.ts").status_code == 403
                assert client.get(head + key + "audio_eng/seg_000.ts").status_code == 200
