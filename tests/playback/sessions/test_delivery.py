"""The capped master playlist and signed media delivery with HTTP Range."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cdn import signing
from playback.models import PlaybackSession

pytestmark = pytest.mark.django_db


def start(client, title):
    response = client.post("/api/v1/playback/sessions", {"title_id": title.pk}, format="json")
    assert response.status_code == 201
    return response.json()


def refused(response) -> int:
    """A refusal's status, after checking it hands out nothing: no playlist, no media bytes."""
    assert response.status_code >= 400, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"#EXTM3U" not in body and b"#EXTINF" not in body, body[:200]
    assert len(body) < 4096, len(body)  # an error message, not a segment
    return response.status_code


def variants(playlist):
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


class TestMasterPlaylist:
    def test_lists_the_whole_ladder_for_a_1080p_plan(self, client, alice_client, movie):
        body = start(alice_client, movie)
        response = client.get(body["master_playlist_url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.apple.mpegurl"
        uris = variants(response.content.decode())
        assert [u.rsplit("/", 2)[-2] for u in uris] == ["360p", "720p", "1080p"]
        signed = rf"^/media/t/[0-9a-f]{{8}}a/[\w-]{{22}}/\d+/hls/title-{movie.pk}/local/"
        assert all(re.match(signed, u) for u in uris)

    def test_capped_plan_lists_no_rendition_above_the_cap(self, client, alice_client, movie, limit):
        limit(max_resolution=720)
        body = start(alice_client, movie)
        text = client.get(body["master_playlist_url"]).content.decode()
        assert [u.rsplit("/", 2)[-2] for u in variants(text)] == ["360p", "720p"]
        assert "1920x1080" not in text
        assert "RESOLUTION=1280x720" in text

    def test_cap_below_the_ladder_still_plays_the_lowest(self, client, alice_client, movie, limit):
        limit(max_resolution=240)
        body = start(alice_client, movie)
        text = client.get(body["master_playlist_url"]).content.decode()
        assert [u.rsplit("/", 2)[-2] for u in variants(text)] == ["360p"]

    def test_tampered_signature_is_403(self, client, alice_client, movie):
        url = start(alice_client, movie)["master_playlist_url"]
        response = client.get(re.sub(r"/t/(\w{9})/[\w-]{22}/", r"/t/\1/" + "A" * 22 + "/", url))
        assert response.status_code == 403
        assert b"This playback link is not valid." in response.content

    def test_another_sessions_signature_is_403(self, client, alice_client, movie):
        first = start(alice_client, movie)
        second = start(alice_client, movie)
        url = first["master_playlist_url"].replace(first["session_id"], second["session_id"])
        assert refused(client.get(url)) == 403

    def test_a_media_token_is_no_playlist_link(self, client, alice_client, movie):
        body = start(alice_client, movie)
        media = body["media_tokens"][f"hls/title-{movie.pk}/local/360p/"]
        assert refused(client.get(f"/playback/{media}index.m3u8")) == 404
        signed = media.replace(f"hls/title-{movie.pk}/local/360p/", "")
        assert (
            client.get(f"/playback/{signed}session/{body['session_id']}/master.m3u8").status_code
            == 403
        )

    def test_link_bound_to_another_address_is_403(self, client, alice_client, movie):
        url = start(alice_client, movie)["master_playlist_url"]
        assert refused(client.get(url, REMOTE_ADDR="10.9.9.9")) == 403
        assert client.get(url).status_code == 200

    def test_expired_link_is_403(self, client, alice, alice_profile, movie, monkeypatch):
        from playback.services import sessions as services

        past = timezone.now() - timedelta(hours=7)
        started = services.session_start(
            account=alice, profile=alice_profile, title=movie, now=past
        )
        response = client.get(started.master_path)
        assert response.status_code == 403
        assert b"This playback link has expired" in response.content

    def test_ended_session_gets_no_playlist(self, client, alice_client, movie):
        body = start(alice_client, movie)
        alice_client.delete(f"/api/v1/playback/sessions/{body['session_id']}")
        assert refused(client.get(body["master_playlist_url"])) == 404

    def test_unsigned_path_is_404(self, client, alice_client, movie):
        body = start(alice_client, movie)
        assert refused(client.get(f"/playback/{body['session_id']}/master.m3u8")) == 404


@pytest.fixture
def segment_url(movie):
    return media_url(movie, timezone.now() + timedelta(hours=1)) + "seg_000.ts"


def media_url(title, expires_at, client_ip="127.0.0.1"):
    """What the player gets from the origin for the 360p rendition: /media/ + the token path."""
    scope = f"hls/title-{title.pk}/local/360p/"
    return "/media/" + signing.sign_prefix(scope, expires_at=expires_at, client_ip=client_ip)


SEGMENT = bytes(range(256)) * 4  # what the fake asset wrote: 1024 bytes


class TestMedia:
    def test_whole_file(self, client, segment_url):
        response = client.get(segment_url)
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp2t"
        assert response["Accept-Ranges"] == "bytes"
        assert response["Content-Length"] == "1024"
        assert b"".join(response.streaming_content) == SEGMENT

    def test_byte_range_is_206(self, client, segment_url):
        response = client.get(segment_url, HTTP_RANGE="bytes=10-19")
        assert response.status_code == 206
        assert response["Content-Range"] == "bytes 10-19/1024"
        assert response["Content-Length"] == "10"
        assert response.content == SEGMENT[10:20]

    def test_open_ended_and_suffix_ranges(self, client, segment_url):
        tail = client.get(segment_url, HTTP_RANGE="bytes=1000-")
        assert (tail.status_code, tail["Content-Range"]) == (206, "bytes 1000-1023/1024")
        assert tail.content == SEGMENT[1000:]
        last = client.get(segment_url, HTTP_RANGE="bytes=-4")
        assert (last.status_code, last["Content-Range"]) == (206, "bytes 1020-1023/1024")
        assert last.content == SEGMENT[-4:]

    @pytest.mark.parametrize("header", ["bytes=2000-2100", "bytes=50-10", "bytes=-", "items=0-1"])
    def test_unsatisfiable_range_is_416(self, client, segment_url, header):
        response = client.get(segment_url, HTTP_RANGE=header)
        assert response.status_code == 416
        assert response["Content-Range"] == "bytes */1024"

    def test_tampered_signature_is_403(self, client, segment_url):
        parts = segment_url.split("/")
        parts[4] = ("A" if parts[4][0] != "A" else "B") + parts[4][1:]
        response = client.get("/".join(parts))
        assert response.status_code == 403
        assert response.content == b"Invalid media link."

    def test_signature_of_another_asset_is_403(self, client, segment_url, movie):
        other = segment_url.replace(f"/title-{movie.pk}/", f"/title-{movie.pk + 1}/")
        assert refused(client.get(other)) == 403

    def test_later_expiry_with_the_same_signature_is_403(self, client, segment_url):
        parts = segment_url.split("/")
        parts[5] = str(int(parts[5]) + 3600)
        assert refused(client.get("/".join(parts))) == 403

    def test_expired_link_is_410(self, client, movie):
        base = media_url(movie, timezone.now() - timedelta(seconds=1))
        response = client.get(base + "seg_000.ts")
        assert response.status_code == 410
        assert response.content == b"This media link has expired."

    def test_path_outside_the_asset_is_404(self, client, movie):
        base = media_url(movie, timezone.now() + timedelta(hours=1))
        assert refused(client.get(base + "../../etc/passwd")) in (403, 404)
        assert refused(client.get(base + "missing.ts")) == 404

    def test_not_served_by_django_when_the_web_server_does_it(self, client, segment_url, settings):
        settings.CDN_SERVE_MEDIA = False
        assert refused(client.get(segment_url)) == 404


def test_no_session_rows_are_made_by_media_requests(client, segment_url):
    client.get(segment_url)
    assert PlaybackSession.objects.count() == 0
