"""The media pipeline's output plays through the playback API: a real encode, a plan cap,
and signed URLs that the origin actually serves."""

from __future__ import annotations

from urllib.parse import urlsplit

import m3u8
import pytest
from django.core.cache import cache

from accounts.services import profile_create
from billing.models import Plan
from media import services
from tests.media.factories import upload_of
from tests.playback.sessions.conftest import client_for, ensure_plans, subscribe
from tests.playback.sessions.factories import TitleFactory

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_pipeline_asset_plays_capped_by_the_plan_through_signed_urls(
    media_root, clips, settings, alice, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = media_root
    settings.CDN_SERVE_MEDIA = True  # Django as origin, as in make demo
    title = TitleFactory(name="Encoded For Real", slug="encoded-for-real")
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["480p"]), title=title)
    asset.refresh_from_db()
    assert asset.status == "ready", asset.error
    ladder = sorted(asset.renditions.values_list("height", flat=True))
    assert ladder[-1] == 480 and len(ladder) >= 2

    ensure_plans()
    Plan.objects.filter(code="basic").update(max_resolution=ladder[0])
    cache.clear()
    subscribe(alice, "basic")
    profile = profile_create(account=alice, name="Alice")
    api = client_for(alice, profile)

    started = api.post("/api/v1/playback/sessions", {"title_id": title.pk}, format="json")
    assert started.status_code == 201, started.json()
    master = api.get(_path(started.json()["master_playlist_url"]))
    assert master.status_code == 200
    playlist = m3u8.loads(master.content.decode())
    heights = [p.stream_info.resolution[1] for p in playlist.playlists]
    assert heights == [ladder[0]]  # the cap keeps only the lowest rung

    variant = api.get(_path(playlist.playlists[0].uri))
    assert variant.status_code == 200
    body = b"".join(variant.streaming_content) if variant.streaming else variant.content
    segments = m3u8.loads(body.decode()).segments
    assert len(segments) >= 1
    base = playlist.playlists[0].uri.rsplit("/", 1)[0]
    segment = api.get(_path(f"{base}/{segments[0].uri}"))
    assert segment.status_code == 200
    data = b"".join(segment.streaming_content) if segment.streaming else segment.content
    assert data[:1] == b"\x47"  # an MPEG-TS sync byte: real video from the pipeline
