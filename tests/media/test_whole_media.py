"""Media that is whole or not published: every rendition is read back before it goes live,
and a source that decodes shorter than its container claims fails with the reason."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from media import ffmpeg, services, synthetic, verify
from media.models import MediaAsset, Rendition
from tests.media.conftest import stored_keys
from tests.media.factories import movie, upload_of

pytestmark = [pytest.mark.django_db, pytest.mark.needs_ffmpeg]

TRUNCATED = re.compile(r"^file is truncated: (\d+\.\d) s of 24\.0 s decode \(")


@pytest.fixture(scope="module")
def cut_in_half(tmp_path_factory) -> tuple[Path, float]:
    """A 24 s MP4 with faststart (its index at the front, so ffprobe reads 24.0 s) cut in half,
    and how many seconds of it really decode."""
    d = tmp_path_factory.mktemp("cut")
    whole = synthetic.make_clip(d / "whole.mp4", width=320, height=240, seconds=24)
    cut = d / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut, verify.decode(cut).seconds


def test_a_faststart_mp4_cut_in_half_ends_failed_as_truncated_not_ready(
    cut_in_half, media_root, django_capture_on_commit_callbacks
):
    cut, decodes = cut_in_half
    title = movie()
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(cut, "film.mp4"), title=title)
    asset.refresh_from_db()
    assert asset.status == MediaAsset.Status.FAILED
    found = TRUNCATED.match(asset.error)
    assert found, asset.error
    # The rendition holds what the source holds, to the tenth of a second (segment rounding).
    assert abs(float(found.group(1)) - decodes) <= 0.5
    assert decodes < 20.0  # the cut is real: the container still claims 24.0 s
    assert asset.duration == 24.0
    assert (asset.ready_version, asset.content_key) == (None, "")
    assert Rendition.objects.filter(asset=asset).count() == 0
    assert stored_keys(media_root) == [asset.source_key]


def _hls(clip: Path, out: Path) -> Path:
    """A 6 s rendition in 2 s segments, written by ffmpeg as the pipeline's are."""
    out.mkdir()
    ffmpeg.run(
        ["-i", str(clip), "-c:v", "libx264", "-preset", "ultrafast", "-g", "50"]
        + ["-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "aac", "-f", "hls"]
        + ["-hls_time", "2", "-hls_playlist_type", "vod"]
        + ["-hls_segment_filename", str(out / "seg_%05d.ts"), str(out / "index.m3u8")],
        timeout=120,
    )
    return out


@pytest.fixture
def rendition(clips, tmp_path) -> Path:
    return _hls(clips["480p"], tmp_path / "480p")


def test_a_whole_rendition_passes(rendition):
    check = verify.check_rendition(rendition, source_seconds=6.0, segment_seconds=2)
    assert check.problem == ""
    assert check.decoded_seconds == pytest.approx(6.0, abs=0.1)


def test_a_missing_segment_is_named(rendition):
    (rendition / "seg_00001.ts").unlink()
    check = verify.check_rendition(rendition, source_seconds=6.0, segment_seconds=2)
    assert check.problem == "rendition 480p: 1 of 3 segments missing, 0 empty (first: seg_00001.ts)"


def test_an_empty_segment_is_named(rendition):
    (rendition / "seg_00002.ts").write_bytes(b"")
    check = verify.check_rendition(rendition, source_seconds=6.0, segment_seconds=2)
    assert check.problem == "rendition 480p: 0 of 3 segments missing, 1 empty (first: seg_00002.ts)"


def test_a_segment_the_playlist_does_not_list_is_refused(rendition):
    shutil.copy(rendition / "seg_00002.ts", rendition / "seg_00003.ts")
    check = verify.check_rendition(rendition, source_seconds=6.0, segment_seconds=2)
    assert check.problem == "rendition 480p: the playlist lists 3 segments, 4 were written"


def test_a_segment_that_does_not_decode_is_refused(rendition):
    segment = rendition / "seg_00001.ts"
    data = bytearray(segment.read_bytes())
    # Keep the transport stream's sync bytes (every 188th) and scramble the payload.
    for i in range(len(data)):
        if i % 188 not in (0, 1, 2, 3):
            data[i] = (data[i] * 7 + 13) % 256
    segment.write_bytes(bytes(data))
    check = verify.check_rendition(rendition, source_seconds=6.0, segment_seconds=2)
    assert check.problem == (
        "rendition 480p: 1 of 3 segments decode to no picture (first: seg_00001.ts)"
    )


def test_a_ladder_short_in_every_rendition_is_the_source_s_truncation(clips, tmp_path):
    for name in ("240p", "480p"):
        _hls(clips["480p"], tmp_path / name)
    with pytest.raises(verify.Incomplete) as caught:
        verify.verify_ladder(tmp_path, ["240p", "480p"], source_seconds=24.0, segment_seconds=4)
    assert str(caught.value) == (
        "file is truncated: 6.0 s of 24.0 s decode (the source ends early; upload the whole "
        "file again)"
    )


def test_one_short_rendition_is_an_incomplete_encode(clips, tmp_path):
    _hls(clips["480p"], tmp_path / "480p")
    _hls(clips["240p"], tmp_path / "240p")  # a 2 s clip standing in for a cut-short rung
    with pytest.raises(verify.Incomplete) as caught:
        verify.verify_ladder(tmp_path, ["240p", "480p"], source_seconds=6.0, segment_seconds=2)
    assert str(caught.value) == "the encode is incomplete: rendition 240p decodes 2.0 s of 6.0 s"


def test_the_decoded_length_comes_from_decoding_not_from_the_playlist(rendition):
    # A playlist that claims more than its segments hold still decodes to what they hold.
    text = (rendition / "index.m3u8").read_text()
    (rendition / "index.m3u8").write_text(text.replace("#EXTINF:2.000000", "#EXTINF:8.000000"))
    decoded = verify.decode(rendition / "index.m3u8")
    assert (round(decoded.seconds), decoded.error) == (6, "")
