"""Which address ranges may be trusted: one's own machines, never a slice of the internet.

Three settings or options name networks the project then trusts: `TRUSTED_PROXIES` (whose
X-Forwarded-For is believed), the origin's `--fill-from` (its unsigned fill path) and the
edges' `--touch-allow` (keep-hot touches). Each is a list of one's own proxies, edges or
workers; `0.0.0.0/0` there would hand the trust to anyone. One rule decides what is too wide.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The widest public range that may be trusted: a provider's block of machines, not the internet.
WIDEST_PUBLIC_PREFIX = {4: 16, 6: 48}
# Not routed on the internet though `is_private` says otherwise: carrier-grade NAT's shared
# space (RFC 6598), which clusters and overlay networks use for their own machines.
SHARED_SPACE = ipaddress.IPv4Network("100.64.0.0/10")


def too_wide(network: Network) -> str | None:
    """Why `network` is too wide to trust, or None. A public range wider than /16 (IPv4) or
    /48 (IPv6) is; private ranges (10.0.0.0/8, fd00::/8, 100.64.0.0/10 ...) may be any size."""
    widest = WIDEST_PUBLIC_PREFIX[network.version]
    if network.prefixlen >= widest or network.is_private:
        return None
    if isinstance(network, ipaddress.IPv4Network) and network.subnet_of(SHARED_SPACE):
        return None
    return (
        f"{network} is wider than /{widest} and not private: it would trust addresses that are "
        "not yours. Name your own machines' addresses or ranges (e.g. 203.0.113.7 or "
        "10.0.0.0/8)."
    )
