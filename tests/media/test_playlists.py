"""media.playlists: the one HLS playlist builder and reader (m3u8 package)."""

import m3u8

from media.playlists import (
    AudioTrack,
    SubtitleTrack,
    Variant,
    master_playlist,
    read_audio,
    read_master,
    subtitle_playlist,
)

LOW = Variant("360p/index.m3u8", 800_000, 640, 360, 700_000, "avc1.4d401e,mp4a.40.2", 24.0)
HIGH = Variant("720p/index.m3u8", 2_500_000, 1280, 720, 2_200_000, "avc1.4d401f,mp4a.40.2", 24.0)
ENGLISH = SubtitleTrack("subs/en.m3u8", "en", "English")


def test_one_location_is_a_plain_master_with_every_uri_through_it():
    text = master_playlist(
        variants=[LOW, HIGH], subtitles=[ENGLISH], locations=[lambda uri: f"signed/{uri}"]
    )
    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:4\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MEDIA:URI="signed/subs/en.m3u8",TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",'
        'NAME="English",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,RESOLUTION=640x360,"
        'FRAME-RATE=24,CODECS="avc1.4d401e,mp4a.40.2",SUBTITLES="subs"\n'
        "signed/360p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2200000,RESOLUTION=1280x720,"
        'FRAME-RATE=24,CODECS="avc1.4d401f,mp4a.40.2",SUBTITLES="subs"\n'
        "signed/720p/index.m3u8\n"
    )


def test_several_locations_are_redundant_streams_in_rank_order():
    text = master_playlist(
        variants=[LOW, HIGH],
        subtitles=[ENGLISH],
        locations=[lambda u: f"https://a/{u}", lambda u: f"https://b/{u}"],
    )
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == [
        "https://a/360p/index.m3u8",
        "https://a/720p/index.m3u8",
        "https://b/360p/index.m3u8",
        "https://b/720p/index.m3u8",
    ]
    first, second = parsed.playlists[:2], parsed.playlists[2:]
    for a, b in zip(first, second, strict=True):
        assert (a.stream_info.bandwidth, a.stream_info.resolution, a.stream_info.codecs) == (
            b.stream_info.bandwidth,
            b.stream_info.resolution,
            b.stream_info.codecs,
        )
    # each copy's subtitles on its own edge, in a group of their own
    assert [(m.group_id, m.uri) for m in parsed.media] == [
        ("subs", "https://a/subs/en.m3u8"),
        ("subs-2", "https://b/subs/en.m3u8"),
    ]
    assert [p.stream_info.subtitles for p in parsed.playlists] == [
        "subs",
        "subs",
        "subs-2",
        "subs-2",
    ]


def test_reading_a_master_gives_back_its_variants_sorted_and_its_subtitles():
    text = master_playlist(variants=[HIGH, LOW], subtitles=[ENGLISH], locations=[str])
    variants, tracks = read_master(text)
    assert variants == [LOW, HIGH]
    assert tracks == [ENGLISH]


def test_an_ffmpeg_style_master_without_optional_attributes_reads():
    variants, tracks = read_master(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=280000,RESOLUTION=320x180,"
        'CODECS="avc1.4d400d,mp4a.40.2"\n180p/index.m3u8\n\n'
    )
    assert variants == [
        Variant("180p/index.m3u8", 280_000, 320, 180, None, "avc1.4d400d,mp4a.40.2")
    ]
    assert tracks == []


def test_subtitle_playlist_is_one_vtt_for_the_whole_duration():
    parsed = m3u8.loads(subtitle_playlist("en.vtt", 7.5))
    assert (parsed.target_duration, parsed.playlist_type, parsed.is_endlist) == (8, "vod", True)
    assert [(s.uri, s.duration) for s in parsed.segments] == [("en.vtt", 7.5)]


ENG = AudioTrack("audio_eng/index.m3u8", "eng", "English", 140_000, 130_000)
SPA = AudioTrack("audio_spa/index.m3u8", "spa", "Español", 150_000, 129_000)
SILENT_LOW = Variant("360p/index.m3u8", 800_000, 640, 360, 700_000, "avc1.4d401e,mp4a.40.2", 24.0)


def test_audio_is_one_group_per_location_and_variants_count_its_largest_rendition():
    text = master_playlist(
        variants=[SILENT_LOW],
        audio=[ENG, SPA],
        locations=[lambda u: f"https://a/{u}", lambda u: f"https://b/{u}"],
    )
    parsed = m3u8.loads(text)
    audio = [m for m in parsed.media if m.type == "AUDIO"]
    assert [(m.group_id, m.language, m.name, m.default, m.autoselect, m.uri) for m in audio] == [
        ("audio", "eng", "English", "YES", "YES", "https://a/audio_eng/index.m3u8"),
        ("audio", "spa", "Español", "NO", "YES", "https://a/audio_spa/index.m3u8"),
        ("audio-2", "eng", "English", "YES", "YES", "https://b/audio_eng/index.m3u8"),
        ("audio-2", "spa", "Español", "NO", "YES", "https://b/audio_spa/index.m3u8"),
    ]
    assert [(p.uri, p.stream_info.audio) for p in parsed.playlists] == [
        ("https://a/360p/index.m3u8", "audio"),
        ("https://b/360p/index.m3u8", "audio-2"),
    ]
    # BANDWIDTH: the video's peak plus the group's largest peak; the same for the average.
    info = parsed.playlists[0].stream_info
    assert (info.bandwidth, info.average_bandwidth) == (950_000, 830_000)
    assert info.codecs == "avc1.4d401e,mp4a.40.2"
    assert read_audio(text) == [
        AudioTrack("https://a/audio_eng/index.m3u8", "eng", "English"),
        AudioTrack("https://a/audio_spa/index.m3u8", "spa", "Español"),
    ]


def test_without_audio_renditions_variants_name_no_audio_group():
    text = master_playlist(variants=[HIGH], locations=[lambda u: u])
    parsed = m3u8.loads(text)
    assert [m for m in parsed.media if m.type == "AUDIO"] == []
    assert parsed.playlists[0].stream_info.audio is None
    assert parsed.playlists[0].stream_info.bandwidth == 2_500_000
    assert "AUDIO=" not in text
    assert read_audio(text) == []
