"""The demo seeder: a few real encodes, shared by every published title and episode."""

from __future__ import annotations

import io

import pytest

from catalog.models import Episode, Title
from media import demo as media_demo
from media.models import MediaAsset

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.needs_ffmpeg]

TINY = [("bars", 320, 240, 1), ("noise", 320, 240, 1)]


def test_seed_encodes_a_few_clips_and_gives_every_published_title_a_ready_asset(media_root):
    out = io.StringIO()
    media_demo.seed(stdout=out, clips=TINY)
    assert Title.objects.count() == 4
    # Two real encodes; three more assets serve their prefixes.
    assert MediaAsset.objects.count() == 5
    assert len(set(MediaAsset.objects.values_list("content_key", flat=True))) == 2
    assert MediaAsset.objects.filter(attempts=1).count() == 2
    for title in Title.objects.filter(kind="movie"):
        assert MediaAsset.objects.ready().filter(title=title).count() == 1
    for episode in Episode.objects.all():
        assert MediaAsset.objects.ready().filter(episode=episode).count() == 1
    assert all(a.subtitles.count() == 1 for a in MediaAsset.objects.filter(attempts=1))
    assert "2 encoded clips; 3 more titles/episodes share them" in out.getvalue()

    media_demo.seed(stdout=io.StringIO(), clips=TINY)  # idempotent
    assert MediaAsset.objects.count() == 5
