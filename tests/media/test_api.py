"""Staff media API: authorisation matrix, bad input, job control, query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media import services
from media.models import MediaAsset, Rendition, Subtitle
from tests.clients import api_client as client_for
from tests.factories import UserFactory
from tests.media.conftest import stored_keys
from tests.media.factories import episode, movie, upload_of

pytestmark = pytest.mark.django_db

LIST = "/api/v1/media/assets"


@pytest.fixture
def staff_api(staff):
    return client_for(staff)


@pytest.fixture
def asset(media_root, clips):
    return services.asset_create(upload=upload_of(clips["240p"]), title=movie())


def _snapshot():
    return list(
        MediaAsset.objects.order_by("pk").values_list("pk", "status", "version", "progress")
    ), Subtitle.objects.count()


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", 401), ("alice", 403), ("bob", 403), ("staff", 200)]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "list"),
        ("get", "detail"),
        ("post", "retry"),
        ("post", "cancel"),
        ("post", "reencode"),
        ("post", "subtitles"),
        ("post", "upload"),
    ],
)
def test_only_staff_may_use_the_media_api(
    who, expected, method, path, asset, alice, bob, staff, clips
):
    user = {"anonymous": None, "alice": alice, "bob": bob, "staff": staff}[who]
    url = {
        "list": LIST,
        "upload": LIST,
        "detail": f"{LIST}/{asset.pk}",
        "retry": f"{LIST}/{asset.pk}/retry",
        "cancel": f"{LIST}/{asset.pk}/cancel",
        "reencode": f"{LIST}/{asset.pk}/reencode",
        "subtitles": f"{LIST}/{asset.pk}/subtitles",
    }[path]
    body = {
        "upload": {"file": upload_of(clips["240p"]), "title_id": asset.title_id},
        "subtitles": {
            "language": "fr",
            "label": "Français",
            "file": SimpleUploadedFile("fr.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nSalut\n"),
        },
    }.get(path)
    before = _snapshot()
    kwargs = {"format": "multipart"} if body else {}
    response = getattr(client_for(user), method)(url, body, **kwargs)
    if expected != 200:
        assert response.status_code == expected
        assert response.json()["error"]["status"] == expected
        assert _snapshot() == before
        return
    # staff: the allowed outcome of each action on a queued job
    assert response.status_code == {
        "upload": 201,
        "subtitles": 201,
        "retry": 409,
        "reencode": 409,
    }.get(path, 200)


def test_staff_upload_stores_the_source_and_queues_a_job(staff_api, media_root, clips):
    title = movie()
    response = staff_api.post(
        LIST,
        {"file": upload_of(clips["240p"], "My Film.mp4"), "title_id": title.pk},
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    asset = MediaAsset.objects.get()
    assert (body["id"], body["status"], body["title_id"], body["source_name"]) == (
        asset.pk,
        "queued",
        title.pk,
        "My_Film.mp4",
    )
    assert body["source_size"] == clips["240p"].stat().st_size
    assert stored_keys(media_root) == [f"sources/{asset.uuid}/My_Film.mp4"]


@pytest.mark.slow
def test_an_api_upload_plays_once_the_worker_ran(
    staff_api, media_root, clips, django_capture_on_commit_callbacks
):
    ep = episode()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(
            LIST, {"file": upload_of(clips["240p"]), "episode_id": ep.pk}, format="multipart"
        )
    assert response.status_code == 201
    detail = staff_api.get(f"{LIST}/{response.json()['id']}").json()
    assert (detail["status"], detail["progress"], detail["episode_id"]) == ("ready", 100, ep.pk)
    assert [(r["width"], r["height"]) for r in detail["renditions"]] == [(320, 240)]
    assert detail["ffmpeg_command"].startswith("/")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "file", "file: No file was submitted."),
        ({"title_id": 999999, "with_file": True}, "title_id", "No such title."),
        ({"episode_id": 999999, "with_file": True}, "episode_id", "No such episode."),
        ({"with_file": True}, "title_id", "Attach the video to exactly one title or one episode."),
    ],
)
def test_bad_uploads_get_a_400_with_a_message(staff_api, media_root, clips, body, field, message):
    body = dict(body)
    if body.pop("with_file", False):
        body["file"] = upload_of(clips["240p"])
    response = staff_api.post(LIST, body, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert field in response.json()["error"]["fields"]
    assert MediaAsset.objects.count() == 0
    assert stored_keys(media_root) == []


def test_uploading_to_a_series_title_is_refused(staff_api, media_root, clips):
    series = episode().season.title
    response = staff_api.post(
        LIST, {"file": upload_of(clips["240p"]), "title_id": series.pk}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "A series plays its episodes: upload to an episode instead."
    )
    assert stored_keys(media_root) == []


def test_unknown_asset_is_404(staff_api):
    response = staff_api.get(f"{LIST}/424242")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No such media asset."


def test_cancel_then_retry_through_the_api(staff_api, asset):
    response = staff_api.post(f"{LIST}/{asset.pk}/cancel")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    response = staff_api.post(f"{LIST}/{asset.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "Only a queued or running job can be cancelled (this one is cancelled)."
    )
    response = staff_api.post(f"{LIST}/{asset.pk}/retry")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("queued", 2)


@pytest.mark.parametrize(
    ("language", "content", "message"),
    [
        (
            "english!",
            b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n",
            "The language must be a BCP 47 tag such as en or pt-BR.",
        ),
        ("en", b"%PDF-1.4 not subtitles", "Not an SRT or WebVTT file (a cue has no timing line)."),
        ("en", b"WEBVTT\n\nno cues here\n", "This WebVTT file has no cues."),
    ],
)
def test_bad_subtitles_get_a_400(staff_api, asset, language, content, message):
    response = staff_api.post(
        f"{LIST}/{asset.pk}/subtitles",
        {"language": language, "label": "x", "file": SimpleUploadedFile("s.srt", content)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert Subtitle.objects.count() == 0


def test_srt_is_stored_as_webvtt(staff_api, asset, media_root):
    srt = b"1\r\n00:00:01,000 --> 00:00:02,500\r\nHola\r\n"
    response = staff_api.post(
        f"{LIST}/{asset.pk}/subtitles",
        {"language": "es", "label": "Español", "file": SimpleUploadedFile("es.srt", srt)},
        format="multipart",
    )
    assert response.status_code == 201
    key = response.json()["vtt_key"]
    assert (media_root / key).read_text() == "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHola\n"


def _many_assets(n: int, clips) -> None:
    for _ in range(n):
        a = services.asset_create(upload=upload_of(clips["240p"]), episode=episode())
        Rendition.objects.create(
            asset=a,
            version=1,
            width=320,
            height=240,
            target_bitrate=1,
            bandwidth=1,
            average_bandwidth=1,
            codecs="avc1.640015",
            frame_rate=25,
            playlist_key="k",
        )
        Subtitle.objects.create(asset=a, language="en", label="English", vtt_key="k")


@pytest.mark.parametrize("n", [1, 6])
def test_list_query_count_does_not_grow_with_rows(
    n, staff_api, media_root, clips, django_assert_num_queries
):
    _many_assets(n, clips)
    # count, page, renditions, subtitles
    with django_assert_num_queries(4):
        response = staff_api.get(LIST)
    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n


def test_a_second_staff_member_sees_the_same_asset(asset):
    other_staff = UserFactory(email="ops@example.com", is_staff=True)
    response = client_for(other_staff).get(f"{LIST}/{asset.pk}")
    assert (response.status_code, response.json()["id"]) == (200, asset.pk)
