"""A viewer on a killed edge keeps watching: the shipped player page (hls.js) in Chromium, three
real nginx edges in front of the real nginx origin (cdn_nginx_config, cdn_origin_config), the
serving edge killed mid-playback.

The session's master playlist lists every rendition once per ranked edge (HLS redundant variant
streams); hls.js moves to the next edge when one refuses. This replaces a Python stand-in that
tried every ranked URL itself, which the shipped player never did.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

from cdn.health import Poller
from cdn.management.commands.cdn_health_poller import edge_targets
from cdn.steering import holder
from playback.demo.clip import make_hls_asset
from playback.models import PlaybackSession, QoeSession
from playback.ports import local_asset_folder
from tests.cdn.conftest import cdn_store, nginx_edges, nginx_origin, origin  # noqa: F401
from tests.cdn.factories import EdgeFactory, SiteFactory
from tests.playback.sessions.factories import TitleFactory
from tests.playback.sessions.test_browser import CHROMIUM, CHROMIUM_ARGS, sign_in, wait_js

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_browser,
    pytest.mark.needs_nginx,
    pytest.mark.needs_ffmpeg,
    pytest.mark.django_db(transaction=True),
]

VIDEO = "document.getElementById('player-video')"
MAX_STALL_SECONDS = 3.0
CLIP_SECONDS = 90


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A minute and a half of real HLS (two renditions, 2 s segments): more than hls.js
    buffers ahead at the emulated downlink (on an idle machine it had 40 s of a one-minute
    clip buffered by the kill, leaving too little film to watch the failover in)."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is required (apt-get install ffmpeg; see .ci/packages.sh)")
    return make_hls_asset(tmp_path_factory.mktemp("failover") / "clip", seconds=CLIP_SECONDS)


@pytest.fixture
def page(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required at /usr/bin/chromium (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        # The edges here are plain http:// on loopback; the site's CSP allows media from
        # https: edges only (production's), so this context alone skips the CSP.
        context = browser.new_context(viewport={"width": 960, "height": 540}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
        connections.close_all()


def fragments(page) -> list[tuple[float, str]]:
    """(requested at, url) of every fragment loaded so far, in page time (ms)."""
    return [tuple(f) for f in page.evaluate("window.__frags")]


def downlink(cdp, bytes_per_second: int, *, latency_ms: int) -> None:
    """Chromium's network emulation for the page (both directions)."""
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": bytes_per_second,
            "uploadThroughput": bytes_per_second,
        },
    )


def test_playback_survives_killing_the_serving_edge(
    live_server,
    page,
    settings,
    tmp_path,
    long_clip,
    alice,
    alice_profile,
    nginx_edges,  # noqa: F811
    nginx_origin,  # noqa: F811
    cdn_store,  # noqa: F811
):
    # Media tokens live one heartbeat interval and are renewed by heartbeats (xhrSetup puts
    # the newest in every request): short here, so renewal happens on every edge during the run.
    settings.PLAYBACK_HEARTBEAT_SECONDS = 6
    settings.MEDIA_ROOT = tmp_path / "media"
    title = TitleFactory(name="Failover", slug="failover")
    shutil.copytree(long_clip, local_asset_folder(f"title-{title.pk}"))

    # The delivery chain: nginx origin over MEDIA_ROOT, three nginx edges filling from it.
    media_origin = nginx_origin(settings.MEDIA_ROOT, fill_from=("127.0.0.1/32",))
    settings.CDN_ORIGIN_URL = media_origin.url
    site = SiteFactory(name="local", is_global_default=True)
    edges = {}
    for name in ("e1", "e2", "e3"):
        edges[name] = nginx_edges(name, origin_url=media_origin.url)
        EdgeFactory(site=site, name=name, base_url=edges[name].base_url)
    Poller(store=cdn_store, targets=edge_targets, down_after=2, up_after=2, timeout=0.3).round()
    holder.reset()
    by_port = {edge.port: name for name, edge in edges.items()}

    def edge_of(url: str) -> str:
        return by_port.get(urlsplit(url).port, "origin")

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, alice, alice_profile)
    # Until the master playlist is parsed, a downlink of 1 MB/s: the page loads at once, but
    # hls.js cannot fetch the whole film (about 100 KB/s of video) in the moments before the
    # viewer's own downlink below is set, however slowly a loaded machine gets there.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    downlink(cdp, 1_000_000, latency_ms=0)
    page.goto(f"{live_server.url}/watch/{title.pk}/")
    wait_js(page, "window.streamsitePlayer && window.streamsitePlayer.hls")
    # Watch what the shipped player does: every fragment it loads (and from where), and the
    # playhead sampled every 100 ms.
    page.evaluate(
        """() => {
          window.__frags = []; window.__samples = [];
          const hls = window.streamsitePlayer.hls;
          hls.on(window.Hls.Events.FRAG_LOADED,
                 (_e, d) => window.__frags.push([d.frag.stats.loading.start, d.frag.url]));
          const v = document.getElementById('player-video');
          setInterval(() => window.__samples.push([performance.now(), v.currentTime]), 100);
        }"""
    )
    # Two renditions on each of two ranked edges, then the origin: redundant variant streams.
    wait_js(page, "window.streamsitePlayer.hls.levels.length > 0")  # the master is parsed
    assert page.evaluate("window.streamsitePlayer.hls.levels.length") == 2
    # A viewer's downlink of 2 Mbit/s: hls.js buffers ahead only a few seconds faster than it
    # plays (on loopback it would hold the whole film before the kill, and prove nothing).
    downlink(cdp, 250_000, latency_ms=20)
    wait_js(page, f"{VIDEO}.currentTime > 2")
    wait_js(page, "window.__frags.length >= 2")
    serving = edge_of(fragments(page)[-1][1])
    assert serving in edges
    first_edge = {edge_of(url) for _, url in fragments(page)}
    assert first_edge == {serving}  # everything so far came from the best-ranked edge

    buffered_end = page.evaluate(f"{VIDEO}.buffered.end({VIDEO}.buffered.length - 1)")
    edges[serving].kill()
    killed_at = page.evaluate("performance.now()")  # every request after this meets a dead edge

    assert buffered_end < CLIP_SECONDS - 30  # much of the film is still to be fetched
    # currentTime goes well past everything buffered before the kill.
    wait_js(page, f"{VIDEO}.currentTime > {buffered_end + 6}", timeout=60)
    # Every fragment requested after the kill came from another edge (one in flight at the
    # kill may still finish from the dead edge's socket buffer: it was requested before).
    after = [(t, edge_of(url)) for t, url in fragments(page) if t > killed_at]
    names = [name for _, name in after]
    assert len(names) >= 3, names
    assert serving not in names, names

    # From the kill on, the playhead never stood still for more than MAX_STALL_SECONDS.
    samples = [s for s in page.evaluate("window.__samples") if s[0] >= killed_at]
    longest, still_since = 0.0, None
    for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
        if c1 <= c0:
            still_since = t0 if still_since is None else still_since
            longest = max(longest, (t1 - still_since) / 1000)
        else:
            still_since = None
    # Shown with -rP: the measured stall and where fragments came from after the kill.
    print(f"longest stall after the kill: {longest:.2f} s; fragments after it: {names}")
    assert longest <= MAX_STALL_SECONDS, f"stalled {longest:.1f} s"

    # The next edge was read with tokens that heartbeats renewed after the playlist was written
    # (xhrSetup swaps the newest in): one token per rendition is good on every edge.
    config = page.evaluate("JSON.parse(document.getElementById('player-config').textContent)")
    first_expiry = max(int(token.split("/")[3]) for token in config["media_tokens"].values())
    used = {
        int(expiry)
        for name in {name for _, name in after} - {"origin"}
        for expiry in re.findall(
            r"/t/[0-9a-f]{8}[an]/[\w-]{22}/(\d+)/", (edges[name].prefix / "access.log").read_text()
        )
    }
    assert max(used) > first_expiry  # renewed by a heartbeat, accepted by another edge

    # The session lives on: no error shown, heartbeats keep renewing it and its tokens.
    beats = page.evaluate("window.streamsitePlayer.heartbeats")
    wait_js(page, f"window.streamsitePlayer.heartbeats > {beats}", timeout=15)
    assert page.locator("[data-role=error]").is_hidden()
    session = PlaybackSession.objects.get()
    assert session.ended_at is None
    assert errors == []

    # The player's own quality report (QoE) saw it too: the failed fragment requests as
    # recovered errors, none fatal, and the edge it reads from now is not the dead one.
    # (Reports ride on heartbeats: wait for one sent after the next fragment.)
    beats = page.evaluate("window.streamsitePlayer.heartbeats")
    wait_js(page, f"window.streamsitePlayer.heartbeats > {beats}", timeout=15)
    qoe = QoeSession.objects.get(session=session)
    assert qoe.recovered_errors >= 1 and qoe.fatal_errors == 0, (
        qoe.recovered_errors,
        qoe.fatal_errors,
    )
    assert qoe.edge and urlsplit(f"http://{qoe.edge}").port != edges[serving].port, qoe.edge
