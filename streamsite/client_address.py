"""The one answer to "which address is this request from?" (playback, cdn, throttles, devices).

X-Forwarded-For is a list anyone can write to; only the entries appended by proxies we run can
be believed. Walking it from the right, each hop that is in TRUSTED_PROXIES vouches for the
entry before it; the first address that is not a trusted proxy is the client. A request whose
peer (REMOTE_ADDR) is not a trusted proxy is taken at its peer address, whatever it claims.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from streamsite.networks import Network, too_wide

_CACHE_ATTR = "_streamsite_client_address"
# An address for a request without one (a test client, a unix socket); never a bind address.
UNKNOWN = "0.0.0.0"  # noqa: S104


@lru_cache(maxsize=8)
def _parse(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES must be a list of CIDR ranges, got {cidr!r}"
            ) from None
        reason = too_wide(network)
        if reason:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {reason}")
        networks.append(network)
    return tuple(networks)


def trusted_networks(cidrs: Any = None) -> tuple[Network, ...]:
    """The TRUSTED_PROXIES setting parsed (ImproperlyConfigured naming a bad entry: not a
    range, or one too wide to be one's own proxies, `streamsite.networks.too_wide`)."""
    value = settings.TRUSTED_PROXIES if cidrs is None else cidrs
    return _parse(tuple(str(c) for c in value))


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Any, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve(
    remote_addr: str | None, forwarded_for: str | None, networks: tuple[Network, ...]
) -> str:
    """The client address from the peer address and X-Forwarded-For, given trusted networks."""
    peer = _address(remote_addr or "")
    if peer is None:
        return UNKNOWN
    if not networks or not _trusted(peer, networks):
        return str(peer)
    client = peer
    hops = [h for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage written by someone before our proxies: stop at the last known hop
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def client_address(request: Any) -> str:
    """The address of the client that sent `request` (see the module docstring); cached on it."""
    target = getattr(request, "_request", request)  # a DRF Request wraps the HttpRequest
    cached = getattr(target, _CACHE_ATTR, None)
    if cached is not None:
        return str(cached)
    meta = target.META
    address = resolve(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"), trusted_networks())
    setattr(target, _CACHE_ATTR, address)
    return address
