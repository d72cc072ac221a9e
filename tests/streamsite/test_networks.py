"""The one rule for which networks may be trusted (`streamsite.networks.too_wide`)."""

from __future__ import annotations

import ipaddress

import pytest

from streamsite.networks import too_wide


@pytest.mark.parametrize(
    "network",
    [
        "10.0.0.0/8",  # a cluster's own network, any size
        "172.16.0.0/12",
        "100.64.0.0/10",  # shared address space (overlay networks)
        "fd00::/8",
        "198.51.0.0/16",  # a provider's block: the widest public range
        "8.8.8.8/32",
        "2001:4860::/48",
        "::ffff:10.0.0.0/104",  # IPv4-mapped: judged as 10.0.0.0/8
        "64:ff9b::808:808/128",  # NAT64 of one address
    ],
)
def test_ones_own_networks_may_be_trusted(network):
    assert too_wide(ipaddress.ip_network(network)) is None


@pytest.mark.parametrize(
    "network",
    ["0.0.0.0/0", "0.0.0.0/1", "8.0.0.0/8", "198.0.0.0/15", "10.0.0.0/7", "::/0", "2000::/3"],
)
def test_a_slice_of_the_internet_may_not(network):
    reason = too_wide(ipaddress.ip_network(network))
    assert reason is not None and reason.startswith(f"{network} is wider than /")


@pytest.mark.parametrize(
    "network,carried",
    [
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("64:ff9b::/96", "0.0.0.0/0"),
        ("::ffff:8.0.0.0/104", "8.0.0.0/8"),
    ],
)
def test_ipv6_ranges_carrying_ipv4_are_judged_as_the_ipv4_they_carry(network, carried):
    # Python calls ::ffff:0:0/96 private, yet it names every IPv4 address.
    reason = too_wide(ipaddress.ip_network(network))
    assert reason is not None
    assert reason.startswith(f"{ipaddress.ip_network(network)} (IPv4 {carried}) is wider than /16")
