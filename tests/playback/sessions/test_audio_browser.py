"""In a real browser: the shipped player offers the audio languages of a title encoded with
two audio streams, and choosing one switches hls.js to it while playback continues."""

from __future__ import annotations

import shutil

import pytest

from media import hls, ladder, playlists, synthetic
from media.probe import probe
from playback.ports import local_asset_folder
from tests.playback.sessions.factories import TitleFactory
from tests.playback.sessions.test_browser import browser_page, sign_in, wait_js

__all__ = ["browser_page"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_ffmpeg,
    pytest.mark.needs_browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def dubbed_hls(tmp_path_factory):
    """A 12 s clip with English and Spanish audio, encoded by the pipeline's own encoder and
    listed by its one playlist builder (relative URIs, as the stored master is)."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is required (apt-get install ffmpeg; see .ci/packages.sh)")
    tmp = tmp_path_factory.mktemp("dubbed")
    source = synthetic.make_clip(
        tmp / "dubbed.mp4", width=320, height=240, seconds=12, languages=("eng", "spa")
    )
    facts = probe(source)
    out = tmp / "asset"
    cfg = hls.EncodeSettings(segment_seconds=2, preset="ultrafast", loudnorm=False)
    encoded = hls.encode(str(source), facts, ladder.fixed_ladder(facts), out, cfg)
    master = playlists.master_playlist(
        variants=[
            playlists.Variant(
                uri=f"{v.directory}/index.m3u8",
                bandwidth=v.bandwidth,
                width=v.rung.width,
                height=v.rung.height,
                average_bandwidth=v.average_bandwidth,
                codecs=v.codecs,
                frame_rate=facts.frame_rate,
            )
            for v in encoded.variants
        ],
        audio=[
            playlists.AudioTrack(
                uri=f"{a.directory}/index.m3u8",
                language=a.language,
                name=a.name,
                bandwidth=a.bandwidth,
                average_bandwidth=a.average_bandwidth,
            )
            for a in encoded.audio
        ],
        locations=[lambda uri: uri],
    )
    (out / "master.m3u8").write_text(master)
    (out / "asset.json").write_text('{"duration": 12}')
    return out


def test_the_audio_menu_lists_both_languages_and_switches_hls_js(
    live_server, browser_page, settings, tmp_path, dubbed_hls, alice, alice_profile
):
    settings.PLAYBACK_HEARTBEAT_SECONDS = 6
    settings.MEDIA_ROOT = tmp_path / "media"
    title = TitleFactory(name="Dubbed", slug="dubbed")
    shutil.copytree(dubbed_hls, local_asset_folder(f"title-{title.pk}"))
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, alice, alice_profile)

    page.goto(f"{live_server.url}/watch/{title.pk}/")
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.hls")
    wait_js(page, "window.streamsitePlayer.hls.audioTracks.length === 2")
    wait_js(page, "document.getElementById('player-video').currentTime > 1.0")
    menu = page.locator("[data-role=audio]")
    assert menu.is_visible()
    assert menu.locator("option").all_inner_texts() == ["English", "Español"]
    assert menu.input_value() == "0"
    assert page.evaluate("window.streamsitePlayer.hls.audioTrack") == 0

    # Keyboard: focus the menu and choose Spanish with the arrow key, as a viewer would.
    menu.focus()
    page.keyboard.press("ArrowDown")
    wait_js(page, "window.streamsitePlayer.hls.audioTrack === 1")
    assert page.evaluate("window.streamsitePlayer.hls.audioTracks[1].lang") == "spa"
    # hls.js loads the Spanish rendition's own segments and the video keeps playing.
    wait_js(
        page,
        "performance.getEntriesByType('resource').some(e => e.name.includes('/audio_spa/seg_'))",
    )
    at = page.evaluate("document.getElementById('player-video').currentTime")
    wait_js(page, f"document.getElementById('player-video').currentTime > {at + 1.0}")
    assert page.evaluate("document.getElementById('player-video').paused") is False
    assert menu.input_value() == "1"
    assert errors == []
