"""The media origin nginx (cdn_origin_config) over local storage: the same token checks as the
edges for viewers, plain cache fills only for the edges' networks, and a real edge in front of
it: a delivery chain with no Python in the media path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cdn.nginx import allowed_network
from cdn.signing import sign_path, signed_url
from tests.cdn.conftest import wait_until, write_asset
from tests.cdn.test_nginx_edges import get

pytestmark = [pytest.mark.slow, pytest.mark.needs_nginx]
PREFIX = "hls/4d5e6f70/v3/"


def in_one_hour():
    return timezone.now() + timedelta(hours=1)


@pytest.fixture
def media_root(tmp_path):
    root = tmp_path / "media"
    write_asset(root, PREFIX)
    (root / PREFIX / "1080p").mkdir()
    (root / PREFIX / "1080p" / "seg0.ts").write_bytes(b"1080p segment")
    return root


def test_signed_segment_is_served_from_local_storage_and_everything_else_refused(
    nginx_origin, media_root
):
    origin = nginx_origin(media_root)
    segment = "720p/seg1.ts"
    status, body, headers = get(signed_url(origin.url, PREFIX, segment, expires_at=in_one_hour()))
    assert (status, body) == (200, (media_root / PREFIX / segment).read_bytes())
    assert headers["Content-Type"] == "video/mp2t"
    status, part, headers = get(
        signed_url(origin.url, PREFIX, segment, expires_at=in_one_hour()), {"Range": "bytes=0-9"}
    )
    assert (status, part, headers["Content-Range"]) == (206, body[:10], "bytes 0-9/4096")

    # Without a token: the plain path is only for the edges' networks (none were named).
    assert get(f"{origin.url}{PREFIX}{segment}")[0] == 403
    # A 720p token does not open 1080p, nor the uncapped master playlist.
    token_720p = sign_path(PREFIX + "720p/", expires_at=in_one_hour())
    assert get(origin.url + token_720p + "seg1.ts")[0] == 200
    assert get(origin.url + token_720p.replace("/720p/", "/1080p/") + "seg0.ts")[0] == 403
    assert get(origin.url + token_720p.replace("720p/", "master.m3u8"))[0] == 403
    # Expired is 410; bound to another address is 403; unknown paths are 404.
    expired = sign_path(PREFIX + segment, expires_at=timezone.now() - timedelta(seconds=5))
    assert get(origin.url + expired)[0] == 410
    elsewhere = sign_path(PREFIX + segment, expires_at=in_one_hour(), client_ip="10.1.1.1")
    assert get(origin.url + elsewhere)[0] == 403
    assert get(f"http://127.0.0.1:{origin.port}/elsewhere")[0] == 404


def test_an_edge_fills_from_the_origin_and_serves_the_viewer(nginx_origin, nginx_edges, media_root):
    origin = nginx_origin(media_root, fill_from=("127.0.0.1/32",))
    edge = nginx_edges("e1", origin_url=origin.url)
    segment = "720p/seg2.ts"
    url = signed_url(edge.base_url, PREFIX, segment, expires_at=in_one_hour())
    status, body, headers = get(url)
    assert (status, headers["X-Edge"], headers["X-Cache-Status"]) == (200, "e1", "MISS")
    assert body == (media_root / PREFIX / segment).read_bytes()
    assert get(url)[2]["X-Cache-Status"] == "HIT"
    # The origin logs a request when it finalises it, which can come after the edge has the
    # body: wait for the line, then it is the only one (one fill, on the plain path).
    assert wait_until(origin.requests) == [f"/media/{PREFIX}{segment}"]


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(CommandError, match="Not an address or CIDR range"):
        call_command("cdn_origin_config", prefix=str(tmp_path), fill_from=["edges"])
    # The fill path is unsigned: naming the internet would publish every file.
    for everyone in ("0.0.0.0/0", "0.0.0.0/1", "198.0.0.0/15", "2000::/3", "10.0.0.0/7"):
        with pytest.raises(CommandError, match="wider than .* and not private"):
            call_command("cdn_origin_config", prefix=str(tmp_path), fill_from=[everyone])
    with pytest.raises(CommandError, match="The media path must look like /media/."):
        call_command("cdn_origin_config", prefix=str(tmp_path), path="media")


def test_an_allowed_network_comes_back_normalised():
    assert allowed_network(" 10.1.2.3/8") == "10.0.0.0/8"
    assert allowed_network("8.8.8.8") == "8.8.8.8/32"
