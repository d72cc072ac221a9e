"""The client address: X-Forwarded-For believed only through TRUSTED_PROXIES hops, and every
user of the address (device records, throttles, playback, cdn media) sees the same one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import RequestFactory

from streamsite.client_address import client_address

PROXY = "10.0.0.1"


def _request(remote: str | None, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote} if remote is not None else {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    return request


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        # No trusted proxies: the header is anyone's to write and is ignored.
        ([], "198.51.100.7", "203.0.113.5", "198.51.100.7"),
        # A spoofed header from an untrusted peer is ignored even when proxies are configured.
        (["10.0.0.0/8"], "198.51.100.7", "203.0.113.5, 10.0.0.2", "198.51.100.7"),
        # One trusted hop: the entry it appended is the client.
        (["10.0.0.0/8"], PROXY, "203.0.113.5", "203.0.113.5"),
        # The client forged a first entry: only the hop our proxy appended counts.
        (["10.0.0.0/8"], PROXY, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        # A chain of trusted hops (load balancer -> nginx -> gunicorn) is walked to the client.
        (
            ["10.0.0.0/8", "192.168.0.0/16"],
            PROXY,
            "1.2.3.4, 203.0.113.5, 192.168.1.4",
            "203.0.113.5",
        ),
        # An untrusted hop in the middle stops the walk there.
        (["10.0.0.0/8"], PROXY, "203.0.113.5, 198.51.100.9", "198.51.100.9"),
        # A trusted peer with no header: the peer itself.
        (["10.0.0.0/8"], PROXY, None, PROXY),
        # Garbage where an address should be: the last hop we can vouch for.
        (["10.0.0.0/8"], PROXY, "203.0.113.5, not-an-ip", PROXY),
        # Ports and brackets are stripped; IPv6 works; an IPv4-mapped peer is its IPv4 address.
        (["10.0.0.0/8"], PROXY, "203.0.113.5:4431", "203.0.113.5"),
        (["fd00::/8"], "fd00::1", "[2001:db8::7]:443", "2001:db8::7"),
        (["10.0.0.0/8"], "::ffff:10.0.0.1", "203.0.113.5", "203.0.113.5"),
        # No peer address at all (a unix socket without a proxy header).
        ([], None, None, "0.0.0.0"),  # noqa: S104 - an address, not a bind
    ],
)
def test_client_address(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    assert client_address(_request(remote, forwarded)) == expected


def test_a_malformed_trusted_proxies_entry_is_a_system_check_error(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "ten-dot"]
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES must be a list of CIDR"):
        client_address(_request(PROXY, "203.0.113.5"))
    from django.core.management.base import SystemCheckError

    with pytest.raises(SystemCheckError, match="streamsite.E006"):
        call_command("check")


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0", "8.0.0.0/8", "2000::/3"])
def test_trusting_the_internet_as_proxies_is_a_system_check_error(settings, everyone):
    # Any client could then write its own X-Forwarded-For and be taken at its word.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", everyone]
    with pytest.raises(ImproperlyConfigured, match="wider than .* and not private"):
        client_address(_request(PROXY, "203.0.113.5"))
    from django.core.management.base import SystemCheckError

    with pytest.raises(SystemCheckError, match="streamsite.E006"):
        call_command("check")


@pytest.mark.django_db
def test_device_record_keeps_the_forwarded_address_only_through_a_trusted_proxy(settings):
    from django.core.cache import cache
    from django.test import Client

    from accounts.models import UserSession
    from tests.factories import UserFactory

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    user = UserFactory()
    for remote, expected in ((PROXY, "203.0.113.5"), ("198.51.100.7", "198.51.100.7")):
        client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="203.0.113.5")
        client.force_login(user)
        cache.clear()  # the once-a-minute gate: let this request record the device
        client.get("/profiles/")
        row = UserSession.objects.get(session_key=client.session.session_key)
        assert row.ip == expected


def test_drf_throttles_count_the_forwarded_client_not_the_proxy(settings):
    from rest_framework.request import Request

    from streamsite.api.throttling import AnonRateThrottle

    class TwoPerMinute(AnonRateThrottle):
        rate = "2/min"
        timer = staticmethod(lambda: 6000.0 + 10)  # inside one window, whatever the clock

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def allowed(remote: str, forwarded: str) -> list[bool]:
        return [
            TwoPerMinute().allow_request(Request(_request(remote, forwarded)), None)
            for _ in range(3)
        ]

    # Behind our proxy each client has its own budget, not one shared by the proxy's address.
    assert allowed(PROXY, "203.0.113.5") == [True, True, False]
    assert allowed(PROXY, "203.0.113.6") == [True, True, False]
    # From outside, rotating a spoofed header buys nothing: the budget is the peer's.
    outside = [
        TwoPerMinute().allow_request(Request(_request("198.51.100.7", f"203.0.113.{n}")), None)
        for n in (7, 8, 9)
    ]
    assert outside == [True, True, False]


def test_the_old_proxy_count_setting_is_refused_naming_its_replacement():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "ACCOUNTS_TRUSTED_PROXIES": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ACCOUNTS_TRUSTED_PROXIES (a count) is replaced by TRUSTED_PROXIES" in result.stderr
