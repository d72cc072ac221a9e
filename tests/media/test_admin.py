"""Media admin: upload, the job panel, polling JSON, retry/cancel, access for staff only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from media import services
from media.chart import ladder_svg
from media.models import MediaAsset, Rendition
from tests.media.conftest import stored_keys
from tests.media.factories import movie, upload_of

pytestmark = pytest.mark.django_db

BASE = "/admin/media/mediaasset"


@pytest.fixture
def asset(media_root, clips):
    return services.asset_create(upload=upload_of(clips["240p"]), title=movie())


def test_staff_upload_in_the_admin_stores_and_queues_and_redirects_to_the_job(
    staff_client, media_root, clips
):
    title = movie()
    response = staff_client.post(
        f"{BASE}/add/", {"title": title.pk, "episode": "", "source": upload_of(clips["240p"])}
    )
    asset = MediaAsset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/{asset.pk}/change/"
    assert (asset.status, asset.title_id) == ("queued", title.pk)
    assert stored_keys(media_root) == [asset.source_key]


def test_admin_upload_needs_exactly_one_owner(staff_client, media_root, clips):
    response = staff_client.post(f"{BASE}/add/", {"source": upload_of(clips["240p"])})
    assert response.status_code == 200
    assert "Choose exactly one: a movie title or an episode." in response.content.decode()
    assert MediaAsset.objects.count() == 0


def test_the_change_page_shows_the_job_panel(staff_client, asset):
    MediaAsset.objects.filter(pk=asset.pk).update(
        status="transcoding", progress=42, ffmpeg_command="/usr/bin/ffmpeg -i src"
    )
    page = staff_client.get(f"{BASE}/{asset.pk}/change/").content.decode()
    assert '<progress id="media-progress" max="100" value="42">' in page
    assert f'data-progress-url="{BASE}/{asset.pk}/progress/"' in page
    assert 'data-running="true"' in page
    assert "/usr/bin/ffmpeg -i src" in page
    assert f'action="{BASE}/{asset.pk}/control/cancel/"' in page
    assert "/control/retry/" not in page


def test_progress_json_reports_the_job(staff_client, asset):
    MediaAsset.objects.filter(pk=asset.pk).update(status="transcoding", progress=57)
    assert staff_client.get(f"{BASE}/{asset.pk}/progress/").json() == {
        "status": "transcoding",
        "status_display": "Transcoding",
        "progress": 57,
        "version": 1,
        "error": "",
        "log_tail": "",
        "running": True,
    }


def test_cancel_then_retry_from_the_change_page(staff_client, asset):
    response = staff_client.post(f"{BASE}/{asset.pk}/control/cancel/")
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.status == "cancelled"
    staff_client.post(f"{BASE}/{asset.pk}/control/retry/")
    asset.refresh_from_db()
    assert (asset.status, asset.version) == ("queued", 2)


def test_list_actions_retry_failed_jobs_and_report_refusals(staff_client, asset, media_root, clips):
    other = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    MediaAsset.objects.filter(pk=asset.pk).update(status="failed")
    response = staff_client.post(
        f"{BASE}/",
        {"action": "retry_jobs", "_selected_action": [asset.pk, other.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Retry: 1 job(s)." in page
    assert (
        f"#{other.pk}: Only a failed or cancelled job can be retried (this one is queued)." in page
    )
    assert list(MediaAsset.objects.order_by("pk").values_list("status", "version")) == [
        ("queued", 2),
        ("queued", 1),
    ]


def test_subtitles_upload_from_the_change_page(staff_client, asset):
    staff_client.post(
        f"{BASE}/{asset.pk}/subtitles/",
        {
            "language": "de",
            "label": "Deutsch",
            "file": SimpleUploadedFile("de.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHallo\n"),
        },
    )
    assert list(asset.subtitles.values_list("language", "label")) == [("de", "Deutsch")]


@pytest.mark.parametrize("who", ["anonymous", "alice"])
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", "progress/"), ("post", "control/cancel/"), ("get", "change/"), ("post", "subtitles/")],
)
def test_non_staff_cannot_reach_media_admin_views(who, method, suffix, asset, alice):
    client = Client()
    if who == "alice":
        client.force_login(alice)
    response = getattr(client, method)(f"{BASE}/{asset.pk}/{suffix}")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    asset.refresh_from_db()
    assert (asset.status, asset.version) == ("queued", 1)
    assert asset.subtitles.count() == 0


def test_ladder_chart_draws_one_bar_per_rendition_with_its_quality(asset):
    rows = [
        Rendition(
            asset=asset,
            version=1,
            width=w,
            height=h,
            target_bitrate=1,
            bandwidth=b,
            average_bandwidth=b,
            codecs="avc1",
            frame_rate=25,
            playlist_key="k",
            vmaf=v,
        )
        for w, h, b, v in [(320, 240, 300_000, 80.5), (640, 480, 900_000, 95.25)]
    ]
    svg = str(ladder_svg(rows))
    assert svg.count("<rect") == 2
    assert "300 kb/s" in svg and "900 kb/s" in svg
    assert "VMAF 80.5" in svg and "VMAF 95.2" in svg
    assert "320x240" in svg and "640x480" in svg
    assert (
        str(ladder_svg([]))
        == '<p class="help">No renditions yet: the chart appears when ready.</p>'
    )
