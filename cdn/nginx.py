"""Rendering the nginx configurations of the delivery chain: one edge, and the origin the
edges fill from."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.template.loader import render_to_string

from cdn.admission import ADMISSION_LINE, MODE_LINE, PIN_LINE
from cdn.signing import nginx_secret_map
from streamsite.errors import ValidationFailed
from streamsite.networks import too_wide

SAFE_SECRET = re.compile(r"^[A-Za-z0-9_+/=.,:@%!*~-]+$")
SAFE_WORD = re.compile(r"^[A-Za-z0-9_.:/\[\]-]+$")


def allowed_network(value: str) -> str:
    """An address or CIDR range nginx's `allow` takes, normalised; refused otherwise, and
    refused when it is too wide to be one's own machines (`streamsite.networks.too_wide`).
    Every `allow` the project renders goes through here: the origin's unsigned fill path and
    the edges' keep-hot touches both trust the addresses they name."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValidationFailed(
            f"Not an address or CIDR range: {value!r} (e.g. 127.0.0.1 or 10.0.0.0/8)."
        ) from None
    reason = too_wide(network)
    if reason:
        raise ValidationFailed(reason)
    return str(network)


def zone_name(edge: str) -> str:
    """The edge's proxy_cache zone: its name with what nginx cannot take in one replaced by
    `_` (the pin zone and the pin list's values add `_pin`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", edge)


def check_min_uses(min_uses: int) -> None:
    """`proxy_cache_min_uses` as the edges take it: 1 to 1000 lookups."""
    if not 1 <= min_uses <= 1000:
        raise ValidationFailed("min_uses must be between 1 and 1000.")


def render_edge_config(
    *,
    name: str,
    listen: str,
    origin_url: str,
    prefix: str,
    cache_dir: str | None = None,
    cache_max_size: str = "10g",
    user: str | None = None,
    workers: int = 1,
    inactive: str = "7d",
    valid: str = "7d",
    min_uses: int = 1,
    admission_list: str | None = None,
    pin_list: str | None = None,
    pin_max_size: str = "1g",
    mode_file: str | None = None,
    touch_allow: Sequence[str] = (),
) -> str:
    """The edge's nginx.conf. With `admission_list` (a file of `<content key> 0;` lines) only
    the titles it names are stored; with `pin_list` (`<content key> <zone>_pin;` lines) those
    titles go to a zone of `pin_max_size` of their own. Both files are written by
    `cdn.admission` and read by nginx at start and on reload. With `mode_file` (the per-edge
    mode: `proxy_cache_min_uses N;`, written by `cdn_edge_lists`) the edge runs one zone the
    size of the cache under the admission list alone, storing at the mode's N-th request.
    With `touch_allow` (CIDR ranges) it also answers keep-hot touches from those addresses:
    `HEAD /_touch/<cache key>` looks the file up in the zone and never reaches the origin."""
    origin = urlsplit(origin_url)
    if origin.scheme != "http" or not origin.hostname:
        raise ValidationFailed("The origin must be an absolute http:// URL.")
    origin_path = origin.path or "/"
    if not origin_path.endswith("/"):
        origin_path += "/"
    check_min_uses(min_uses)
    if mode_file and (pin_list or not admission_list):
        raise ValidationFailed(
            "The per-edge mode runs one zone under an admission list: give --admission-list "
            "and no --pin-list."
        )
    for label, value in (
        ("name", name),
        ("listen", listen),
        ("prefix", prefix),
        ("inactive", inactive),
        ("valid", valid),
        ("pin_max_size", pin_max_size),
        ("admission_list", admission_list or "-"),
        ("pin_list", pin_list or "-"),
        ("mode_file", mode_file or "-"),
    ):
        if not SAFE_WORD.match(value):
            raise ValidationFailed(f"Unsafe characters in {label}: {value!r}.")
    touch_allow = [allowed_network(value) for value in touch_allow]
    secrets = nginx_secret_map()
    for secret in secrets.values():
        if not SAFE_SECRET.match(secret):
            raise ValidationFailed(
                "A signing secret has characters nginx cannot take literally "
                "(quotes, $, backslash, ; or spaces): choose another."
            )
    return render_to_string(
        "cdn/nginx_edge.conf",
        {
            "name": name,
            "zone": zone_name(name),
            "listen": listen,
            "origin_host": origin.netloc,
            "origin_path": origin_path,
            "prefix": prefix.rstrip("/"),
            "cache_dir": cache_dir or f"{prefix.rstrip('/')}/cache",
            "cache_max_size": cache_max_size,
            "user": user,
            "workers": workers,
            "inactive": inactive,
            "valid": valid,
            "min_uses": min_uses,
            "admission_list": admission_list,
            "pin_list": pin_list,
            "pin_max_size": pin_max_size,
            "mode_file": mode_file,
            "touch_allow": touch_allow,
            "secrets": sorted(secrets.items()),
        },
    )


def render_origin_config(
    *,
    listen: str,
    media_root: str,
    prefix: str,
    path: str = "/media/",
    fill_from: list[str] | None = None,
    lists_dir: str | None = None,
    user: str | None = None,
    workers: int = 1,
) -> str:
    """The origin's nginx.conf: media from local storage (MEDIA_ROOT) under `path`.

    Viewers (steered to the origin when no edge can serve them) reach `<path>t/...` with the
    same secure_link checks as an edge. Edges fill their caches from the plain `<path>hls/...`,
    which answers only the networks in `fill_from` (the edges' addresses); without it, only
    signed paths are served. With `lists_dir` (where `cdn.edge_lists` writes), the edges' list
    files are served under `<path>edge-lists/` to the same networks, for each edge's agent.
    Everything else is 404: no Python in the media path."""
    if not path.startswith("/") or not path.endswith("/") or not SAFE_WORD.match(path):
        raise ValidationFailed("The media path must look like /media/.")
    for label, value in (
        ("listen", listen),
        ("prefix", prefix),
        ("media_root", media_root),
        ("lists_dir", lists_dir or "-"),
    ):
        if not SAFE_WORD.match(value):
            raise ValidationFailed(f"Unsafe characters in {label}: {value!r}.")
    networks = [allowed_network(cidr) for cidr in fill_from or []]
    secrets = nginx_secret_map()
    for secret in secrets.values():
        if not SAFE_SECRET.match(secret):
            raise ValidationFailed(
                "A signing secret has characters nginx cannot take literally "
                "(quotes, $, backslash, ; or spaces): choose another."
            )
    return render_to_string(
        "cdn/nginx_origin.conf",
        {
            "listen": listen,
            "media_root": media_root.rstrip("/"),
            "prefix": prefix.rstrip("/"),
            "path": path,
            "fill_from": networks,
            "lists_dir": lists_dir.rstrip("/") if lists_dir else None,
            "user": user,
            "workers": workers,
            "secrets": sorted(secrets.items()),
        },
    )


# What each list file of an edge may hold, line by line (`cdn.admission`'s writers), and how
# many lines: the edge's agent refuses a file with any other line, since nginx includes the
# mode file as directives.
LIST_LINES = {
    "admission.map": (ADMISSION_LINE, "any"),
    "pin.map": (PIN_LINE, "any"),
    "mode.conf": (MODE_LINE, "one"),
}


def render_edge_agent(
    *,
    name: str,
    lists_url: str,
    prefix: str,
    conf: str,
    admission_list: str | None = None,
    pin_list: str | None = None,
    mode_file: str | None = None,
) -> str:
    """The edge's agent, a POSIX shell script: it fetches `<lists_url><name>.<list>` for each
    list the edge reads (the files `cdn.edge_lists` writes, served by the origin), refuses a
    file whose lines are not entries of its list, and when any changed puts them in place,
    lets `nginx -t` check the whole configuration and reloads; nginx refusing puts the old
    files back. An error leaves the edge on the lists it has."""
    parts = urlsplit(lists_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not lists_url.endswith("/"):
        raise ValidationFailed("The lists URL must be an absolute http(s):// URL ending in /.")
    if not SAFE_WORD.match(lists_url):
        raise ValidationFailed(f"Unsafe characters in the lists URL: {lists_url!r}.")
    listed = {"admission.map": admission_list, "pin.map": pin_list, "mode.conf": mode_file}
    files = [(f"{name}.{kind}", path, *LIST_LINES[kind]) for kind, path in listed.items() if path]
    if not files:
        raise ValidationFailed("The edge reads no lists: give --admission-list or --pin-list.")
    for label, value in (("name", name), ("prefix", prefix), ("output", conf)):
        if not SAFE_WORD.match(value):
            raise ValidationFailed(f"Unsafe characters in {label}: {value!r}.")
    for _, path, _, _ in files:
        if not SAFE_WORD.match(path):
            raise ValidationFailed(f"Unsafe characters in a list's path: {path!r}.")
    return render_to_string(
        "cdn/edge_pull_lists.sh",
        {
            "name": name,
            "lists_url": lists_url,
            "prefix": prefix.rstrip("/"),
            "conf": conf,
            "files": files,
        },
    )
