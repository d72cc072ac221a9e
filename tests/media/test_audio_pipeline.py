"""Audio as its own HLS rendition group, with real ffmpeg: a source with two audio streams
keeps both, labelled by language; the video variants carry no sound; a silent source has no
group at all; an audio rendition with a segment missing is refused before publishing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import m3u8
import pytest

from media import hls, ladder, services, synthetic, verify
from media.models import AudioRendition
from media.probe import probe
from media.selectors import build_master_playlist, ready_asset_for_title
from tests.media.conftest import stored_keys
from tests.media.factories import movie, upload_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.needs_ffmpeg]


def streams_of(path: Path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [s["codec_type"] for s in json.loads(out)["streams"]]


@pytest.fixture(scope="module")
def dubbed(tmp_path_factory) -> Path:
    """6 s at 320x240, an English tone at 440 Hz and a Spanish one at 660 Hz."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required for the media tests (.ci/packages.sh installs it)")
    out = tmp_path_factory.mktemp("dubbed") / "dubbed.mp4"
    return synthetic.make_clip(out, width=320, height=240, seconds=6, languages=("eng", "spa"))


def encode_ready(path: Path, capture) -> object:
    with capture(execute=True):
        asset = services.asset_create(upload=upload_of(path), title=movie())
    asset.refresh_from_db()
    assert (asset.status, asset.error) == ("ready", "")
    return asset


def test_two_audio_streams_become_two_audio_renditions_and_the_video_has_none(
    media_root, dubbed, django_capture_on_commit_callbacks
):
    assert probe(dubbed).audio_languages == ("eng", "spa")
    asset = encode_ready(dubbed, django_capture_on_commit_callbacks)
    prefix = asset.content_key

    rows = list(AudioRendition.objects.filter(asset=asset, version=asset.ready_version))
    assert [(a.position, a.language, a.name, a.codecs) for a in rows] == [
        (0, "eng", "English", "mp4a.40.2"),
        (1, "spa", "Español", "mp4a.40.2"),
    ]
    assert [a.playlist_key for a in rows] == [
        f"{prefix}/audio_eng/index.m3u8",
        f"{prefix}/audio_spa/index.m3u8",
    ]
    assert [a.segment_count for a in rows] == [2, 2]

    master = m3u8.load(str(media_root / asset.master_key))
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.group_id, m.language, m.name, m.default, m.autoselect, m.uri) for m in audio] == [
        ("audio", "eng", "English", "YES", "YES", "audio_eng/index.m3u8"),
        ("audio", "spa", "Español", "NO", "YES", "audio_spa/index.m3u8"),
    ]
    video = {r.height: r for r in asset.renditions.all()}
    loudest = max(a.bandwidth for a in rows)
    for variant in master.playlists:
        info = variant.stream_info
        assert info.audio == "audio"
        assert info.codecs.startswith("avc1.") and info.codecs.endswith(",mp4a.40.2")
        assert info.bandwidth == video[info.resolution[1]].bandwidth + loudest

    # The video segments carry no sound; each audio segment is sound only, and the two
    # languages are different recordings (the tones were 440 and 660 Hz).
    for rendition in asset.renditions.all():
        folder = media_root / rendition.playlist_key.rsplit("/", 1)[0]
        for segment in sorted(folder.glob("seg_*.ts")):
            assert streams_of(segment) == ["video"], segment
    eng, spa = (media_root / prefix / f"audio_{x}" / "seg_00000.ts" for x in ("eng", "spa"))
    assert streams_of(eng) == streams_of(spa) == ["audio"]
    assert eng.read_bytes() != spa.read_bytes()

    # The stored audio renditions are whole: every segment there, the length of the source.
    for row in rows:
        folder = media_root / row.playlist_key.rsplit("/", 1)[0]
        check = verify.check_rendition(folder, source_seconds=6.0, segment_seconds=4, audio=True)
        assert check.problem == ""
        assert check.decoded_seconds == pytest.approx(6.0, abs=0.1)
    keys = stored_keys(media_root, prefix)
    assert [k for k in keys if "/audio_" in k] == [
        f"{prefix}/audio_eng/index.m3u8",
        f"{prefix}/audio_eng/seg_00000.ts",
        f"{prefix}/audio_eng/seg_00001.ts",
        f"{prefix}/audio_spa/index.m3u8",
        f"{prefix}/audio_spa/seg_00000.ts",
        f"{prefix}/audio_spa/seg_00001.ts",
    ]

    # A session's master (capped, signed) lists both languages through its own signer.
    found = ready_asset_for_title(asset.title_id)
    text = build_master_playlist(found, max_height=240, uri_for=lambda key: f"https://e/{key}")
    session = m3u8.loads(text)
    assert [m.uri for m in session.media if m.type == "AUDIO"] == [
        f"https://e/{prefix}/audio_eng/index.m3u8",
        f"https://e/{prefix}/audio_spa/index.m3u8",
    ]
    assert [p.stream_info.audio for p in session.playlists] == ["audio"]


def test_sharing_and_reencoding_keep_the_audio_group_of_the_served_version(
    media_root, dubbed, django_capture_on_commit_callbacks
):
    asset = encode_ready(dubbed, django_capture_on_commit_callbacks)
    copy = services.asset_share(source=asset, title=movie())
    assert list(copy.audio_renditions.values_list("language", "playlist_key")) == list(
        asset.audio_renditions.values_list("language", "playlist_key")
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_reencode(asset=asset)
    asset.refresh_from_db()
    assert asset.ready_version == 2
    assert sorted(
        AudioRendition.objects.filter(asset=asset).values_list("version", "language")
    ) == [(2, "eng"), (2, "spa")]


def test_a_source_without_sound_has_no_audio_group_and_its_variants_name_none(
    media_root, tmp_path, django_capture_on_commit_callbacks
):
    silent = synthetic.make_clip(tmp_path / "silent.mp4", width=320, height=240, audio=False)
    asset = encode_ready(silent, django_capture_on_commit_callbacks)
    assert AudioRendition.objects.filter(asset=asset).count() == 0
    text = (media_root / asset.master_key).read_text()
    assert "TYPE=AUDIO" not in text and "AUDIO=" not in text
    master = m3u8.loads(text)
    assert [p.stream_info.codecs.startswith("avc1.") for p in master.playlists] == [True]
    assert "mp4a" not in master.playlists[0].stream_info.codecs
    assert not [k for k in stored_keys(media_root, asset.content_key) if "audio_" in k]


def test_an_untagged_audio_stream_is_one_rendition_named_original(tmp_path):
    source = synthetic.make_clip(tmp_path / "plain.mp4", width=320, height=240, seconds=2)
    facts = probe(source)
    assert facts.audio_languages == ("und",)
    encoded = hls.encode(
        str(source), facts, ladder.fixed_ladder(facts), tmp_path / "out", hls.EncodeSettings()
    )
    assert [(a.language, a.name, a.directory) for a in encoded.audio] == [
        ("und", "Original", "audio_und")
    ]


def test_an_audio_rendition_missing_a_segment_is_refused_by_name(tmp_path, dubbed):
    facts = probe(dubbed)
    out = tmp_path / "out"
    rungs = ladder.fixed_ladder(facts)
    hls.encode(str(dubbed), facts, rungs, out, hls.EncodeSettings())
    (out / "audio_spa" / "seg_00001.ts").unlink()
    with pytest.raises(verify.Incomplete) as refused:
        verify.verify_ladder(
            out,
            ["240p"],
            audio_directories=["audio_eng", "audio_spa"],
            source_seconds=facts.duration,
            segment_seconds=4,
        )
    assert str(refused.value) == (
        "the encode is incomplete: rendition audio_spa: 1 of 2 segments missing, 0 empty "
        "(first: seg_00001.ts)"
    )


def test_an_audio_rendition_shorter_than_the_source_is_refused(tmp_path, dubbed):
    facts = probe(dubbed)
    out = tmp_path / "out"
    hls.encode(str(dubbed), facts, ladder.fixed_ladder(facts), out, hls.EncodeSettings())
    # Cut the English track's playlist to its first segment (and drop the second file).
    playlist = m3u8.load(str(out / "audio_eng" / "index.m3u8"))
    playlist.segments = m3u8.SegmentList(playlist.segments[:1])
    (out / "audio_eng" / "index.m3u8").write_text(playlist.dumps())
    (out / "audio_eng" / "seg_00001.ts").unlink()
    checks = [
        verify.check_rendition(out / name, source_seconds=6.0, segment_seconds=1, audio=True)
        for name in ("audio_eng", "audio_spa")
    ]
    assert checks[0].problem.startswith("rendition audio_eng decodes 4.")
    assert checks[0].problem.endswith(" s of 6.0 s")
    assert checks[1].problem == ""
