"""Audio renditions are named from the source's language tags (media.hls.audio_names)."""

from media.hls import audio_names, language_name


def test_each_language_gets_its_own_folder_and_its_own_name():
    assert audio_names(["eng", "spa", "ger"]) == [
        ("audio_eng", "English"),
        ("audio_spa", "Español"),
        ("audio_ger", "Deutsch"),
    ]


def test_a_language_met_twice_and_untagged_streams_stay_apart():
    assert audio_names(["eng", "eng", "und", "und"]) == [
        ("audio_eng", "English"),
        ("audio_eng_2", "English 2"),
        ("audio_und", "Original"),
        ("audio_und_2", "Audio 2"),
    ]


def test_a_tag_babel_does_not_know_is_shown_as_itself_and_never_escapes_its_folder():
    assert language_name("qaa") == "qaa"
    assert audio_names(["../x"]) == [("audio_x", "x")]
    assert audio_names(["pt-br"]) == [("audio_pt-br", "Português (Brasil)")]
