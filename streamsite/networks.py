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
# IPv6 ranges that carry IPv4 addresses in their last 32 bits (IPv4-mapped, NAT64's well-known
# prefix): `::ffff:0:0/96` names every IPv4 address, though `is_private` calls it private.
EMBEDDING_IPV4 = (ipaddress.IPv6Network("::ffff:0:0/96"), ipaddress.IPv6Network("64:ff9b::/96"))


def too_wide(network: Network) -> str | None:
    """Why `network` is too wide to trust, or None. A public range wider than /16 (IPv4) or
    /48 (IPv6) is; private ranges (10.0.0.0/8, fd00::/8, 100.64.0.0/10 ...) may be any size.
    An IPv6 range of IPv4-mapped or NAT64 addresses is judged as the IPv4 range it carries."""
    named = str(network)
    for carrier in EMBEDDING_IPV4:
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(carrier):
            # Judged as the IPv4 range it names.
            first = int(network.network_address) & 0xFFFFFFFF
            network = ipaddress.IPv4Network((first, network.prefixlen - 96))
            named = f"{named} (IPv4 {network})"
            break
    widest = WIDEST_PUBLIC_PREFIX[network.version]
    if network.prefixlen >= widest or network.is_private:
        return None
    if isinstance(network, ipaddress.IPv4Network) and network.subnet_of(SHARED_SPACE):
        return None
    return (
        f"{named} is wider than /{widest} and not private: it would trust addresses that are "
        "not yours. Name your own machines' addresses or ranges (e.g. 203.0.113.7 or "
        "10.0.0.0/8)."
    )
