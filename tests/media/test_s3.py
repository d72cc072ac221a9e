"""The S3 path against a real S3-compatible server (moto's server mode) on loopback."""

from __future__ import annotations

import socket
import urllib.request

import m3u8
import pytest
from django.core.files.storage import default_storage

from media import services
from media.models import MediaAsset
from tests.media.factories import movie, upload_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "streamsite-media-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(settings):
    import boto3  # here, not at the top: only these tests pay for importing it
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "querystring_auth": True,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    settings.MEDIA_QUALITY_SAMPLE_SECONDS = 0
    yield client
    server.stop()


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _get(key: str) -> bytes:
    with urllib.request.urlopen(default_storage.url(key), timeout=10) as response:
        assert response.status == 200
        return response.read()


def test_upload_transcode_and_play_through_s3(
    s3, clips, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_WORK_DIR = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    asset.refresh_from_db()
    assert (asset.status, asset.error) == ("ready", "")
    prefix = asset.content_key
    assert _keys(s3, f"sources/{asset.uuid}/") == [asset.source_key]
    assert _keys(s3, prefix) == [
        f"{prefix}/240p/index.m3u8",
        f"{prefix}/240p/seg_00000.ts",
        f"{prefix}/audio_und/index.m3u8",
        f"{prefix}/audio_und/seg_00000.ts",
        f"{prefix}/master.m3u8",
        f"{prefix}/poster.jpg",
        f"{prefix}/trickplay.jpg",
        f"{prefix}/trickplay.vtt",
    ]
    # Every URL of the ladder resolves through the bucket's (signed) URLs.
    master = m3u8.loads(_get(asset.master_key).decode())
    assert [p.uri for p in master.playlists] == ["240p/index.m3u8"]
    assert [m.uri for m in master.media if m.type == "AUDIO"] == ["audio_und/index.m3u8"]
    sound = m3u8.loads(_get(f"{prefix}/audio_und/index.m3u8").decode())
    assert _get(f"{prefix}/audio_und/{sound.segments[0].uri}")[0] == 0x47
    variant = m3u8.loads(_get(f"{prefix}/{master.playlists[0].uri}").decode())
    segment = _get(f"{prefix}/240p/{variant.segments[0].uri}")
    assert segment[0] == 0x47  # MPEG-TS sync byte
    assert (
        len(segment)
        == s3.head_object(Bucket=BUCKET, Key=f"{prefix}/240p/seg_00000.ts")["ContentLength"]
    )


def test_a_re_encode_on_s3_removes_the_old_version_objects(
    s3, clips, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_WORK_DIR = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    asset.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_reencode(asset=asset)
    asset = MediaAsset.objects.get(pk=asset.pk)
    assert asset.content_key == f"hls/{asset.uuid}/2"
    assert _keys(s3, f"hls/{asset.uuid}/1/") == []
    assert len(_keys(s3, f"hls/{asset.uuid}/2/")) == 8  # video, audio, master, extras
