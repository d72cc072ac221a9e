"""Playback's one adapter onto the other apps: every outside contract playback uses is here.

Entitlements (billing), the request's profile (accounts), availability and maturity and viewing
activity (catalog), steering and signing (cdn), and assets (the media pipeline's ready asset,
with a local-folder fallback for the playback demo clip and browser fixtures) are wired to the
real apps. Services call only these names, and tests monkeypatch them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import selectors as accounts_selectors
from billing import entitlements as billing_entitlements
from cdn import signing as cdn_signing
from cdn import steering as cdn_steering
from media import selectors as media_selectors
from streamsite.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import Profile, User
    from catalog.models import Episode, Title


# --- billing: billing.entitlements.get_entitlements(account) -> Entitlements ----------------
Entitlements = billing_entitlements.Entitlements


def get_entitlements(account: User) -> Entitlements:
    """What the account's plan allows: can_stream (+ reason), max_streams, max_resolution."""
    return billing_entitlements.get_entitlements(account)


def plan_action(status: str = "") -> dict[str, str]:
    """Where a viewer refused for their plan goes to fix it (a page error offers the link):
    the plan picker for an account that never had a plan (status "none"), else billing."""
    if status == "none":
        return {"url": reverse("billing:plans"), "label": "Choose a plan"}
    return {"url": reverse("billing:account"), "label": "Go to billing"}


# --- accounts: accounts.selectors.request_profile(request, required=True) ---------------------
def request_profile(
    request: HttpRequest, *, required: bool = True, profile_id: int | None = None
) -> Profile | None:
    """The profile this request acts as (a body `profile_id`, the `X-Profile-Id` header, else
    the one picked in the browser), checked to belong to the user and be unlocked: accounts'
    one profile rule."""
    return accounts_selectors.request_profile(request, required=required, profile_id=profile_id)


# --- catalog: regional availability and maturity -------------------------------------------
@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def check_viewing_allowed(
    *, profile: Profile, title: Title, episode: Episode | None, country: str
) -> Refusal | None:
    """None when `profile` may watch `title` from `country` now; else why not.

    Unpublished titles are "unavailable", a rating above the profile's maturity is "maturity",
    and no licensing window for the country now is "region" (catalog's availability windows).
    """
    from catalog.selectors.titles import available_titles

    if not title.is_published:
        return Refusal("unavailable", f"\u201c{title.name}\u201d is not available to watch.")
    if not accounts_selectors.profile_allows(profile, title.maturity_level):
        return Refusal(
            "maturity",
            f"\u201c{title.name}\u201d is rated above what the profile \u201c{profile.name}\u201d "
            "may watch.",
        )
    code = (country or settings.DEFAULT_COUNTRY).upper()
    if (
        not available_titles(country=code, max_maturity=title.maturity_level)
        .filter(pk=title.pk)
        .exists()
    ):
        return Refusal(
            "region",
            f"\u201c{title.name}\u201d is not available to watch in your country ({code}).",
        )
    return None


# --- catalog: viewing activity (record_progress, resume position) ---------------------------
def record_progress(
    *,
    profile_id: int,
    title_id: int,
    episode_id: int | None,
    position_seconds: float,
    duration_seconds: float | None,
    at: datetime,
) -> None:
    """Hand a (flushed) position to catalog's viewing activity, the one source of truth.

    Catalog ignores a heartbeat older than the one it holds. Without a duration from the player
    the title's or episode's runtime is used; with neither, the position cannot be placed and is
    dropped. A title that stopped being visible to the profile is dropped too (logged).
    """
    from accounts.models import Profile
    from catalog.models import Episode, Title
    from playback.services.activity import record_progress as activity_record_progress

    profile = Profile.objects.select_related("account").filter(pk=profile_id).first()
    title = Title.objects.filter(pk=title_id).first()
    episode = None
    if episode_id is not None:
        episode = Episode.objects.select_related("season").filter(pk=episode_id).first()
    if profile is None or title is None or (episode_id is not None and episode is None):
        return
    runtime = (episode or title).runtime_minutes
    duration = duration_seconds or (runtime * 60 if runtime else None)
    if not duration:
        log.info("progress without a duration dropped: profile %s title %s", profile_id, title_id)
        return
    try:
        activity_record_progress(
            profile=profile,
            title=title,
            episode=episode,
            position_seconds=max(0, int(position_seconds)),
            duration_seconds=max(1, round(duration)),
            occurred_at=at,
        )
    except (NotFound, ValidationFailed) as exc:
        log.info("progress dropped for profile %s title %s: %s", profile_id, title_id, exc)


def resume_position(*, profile: Profile, title: Title, episode: Episode | None) -> float:
    """Seconds to resume from: catalog's progress row; 0 when never watched or finished."""
    from playback.models import Progress

    row = (
        Progress.objects.filter(profile=profile, title=title, episode=episode)
        .only("position_seconds", "completed")
        .first()
    )
    if row is None or row.completed:
        return 0.0
    return float(row.position_seconds)


# --- media pipeline: HLS assets and build_master_playlist(asset, *, max_height, uri_for) ----
@dataclass(frozen=True)
class Rendition:
    height: int
    bandwidth: int
    attributes: str  # the #EXT-X-STREAM-INF attribute list, as the asset wrote it
    uri: str  # relative to the asset's root


@dataclass(frozen=True)
class LocalAsset:
    """A folder under PLAYBACK_MEDIA_ROOT: master.m3u8 (+ variants) and optional asset.json
    (duration, markers, subtitles, trickplay)."""

    key: str
    root: Path
    renditions: tuple[Rendition, ...]
    duration_seconds: float | None = None
    markers: dict[str, float] = field(default_factory=dict)
    subtitles: tuple[dict[str, str], ...] = ()
    trickplay: dict[str, str] | None = None
    # The CDN content key (`hls/<asset>/<version>/`); empty for a local folder asset.
    content_key: str = ""


_STREAM_INF = re.compile(r"^#EXT-X-STREAM-INF:(?P<attrs>.*)$")
_RESOLUTION = re.compile(r"RESOLUTION=(\d+)x(\d+)")
_BANDWIDTH = re.compile(r"(?:^|,)BANDWIDTH=(\d+)")


def asset_key_for(*, title: Title, episode: Episode | None) -> str:
    return f"episode-{episode.pk}" if episode is not None else f"title-{title.pk}"


def find_asset(*, title: Title, episode: Episode | None) -> LocalAsset | None:
    """The playable asset of a title or episode, or None: the media pipeline's ready asset
    first, else a local folder `title-<id>` / `episode-<id>` under PLAYBACK_MEDIA_ROOT (the
    playback demo clip and the browser tests' fixtures)."""
    pipeline = _pipeline_asset(title=title, episode=episode)
    if pipeline is not None:
        return pipeline
    key = asset_key_for(title=title, episode=episode)
    root = Path(settings.PLAYBACK_MEDIA_ROOT) / key
    master = root / "master.m3u8"
    if not master.is_file():
        return None
    renditions: list[Rendition] = []
    lines = master.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        match = _STREAM_INF.match(line.strip())
        if not match or i + 1 >= len(lines):
            continue
        attrs = match["attrs"]
        resolution = _RESOLUTION.search(attrs)
        bandwidth = _BANDWIDTH.search(attrs)
        renditions.append(
            Rendition(
                height=int(resolution.group(2)) if resolution else 0,
                bandwidth=int(bandwidth.group(1)) if bandwidth else 0,
                attributes=attrs,
                uri=lines[i + 1].strip(),
            )
        )
    meta: dict[str, Any] = {}
    meta_path = root / "asset.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return LocalAsset(
        key=key,
        root=root,
        renditions=tuple(sorted(renditions, key=lambda r: (r.height, r.bandwidth))),
        duration_seconds=meta.get("duration"),
        markers={k: float(v) for k, v in (meta.get("markers") or {}).items()},
        subtitles=tuple(meta.get("subtitles") or ()),
        trickplay=meta.get("trickplay"),
    )


def _episode_markers(episode: Episode | None) -> dict[str, float]:
    if episode is None:
        return {}
    names = ("intro_start", "intro_end", "credits_start", "credits_end")
    return {n: float(getattr(episode, n)) for n in names if getattr(episode, n) is not None}


def _pipeline_asset(*, title: Title, episode: Episode | None) -> LocalAsset | None:
    """The media pipeline's ready asset, in the shape the player and playlist builder use."""
    found = (
        media_selectors.ready_asset_for_episode(episode)
        if episode is not None
        else media_selectors.ready_asset_for_title(title)
    )
    if found is None:
        return None
    media = media_selectors.asset_media(found)
    prefix = media.content_key.rstrip("/") + "/"

    def rel(key: str) -> str:
        return key[len(prefix) :] if key.startswith(prefix) else key

    renditions = tuple(
        Rendition(
            height=r.height,
            bandwidth=r.bandwidth,
            attributes=(
                f"BANDWIDTH={r.bandwidth},AVERAGE-BANDWIDTH={r.average_bandwidth},"
                f'RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}",'
                f"FRAME-RATE={r.frame_rate:.3f}"
            ),
            uri=rel(r.playlist_key),
        )
        for r in media.renditions
    )
    subtitles = tuple(
        {"name": sub.label or sub.language, "language": sub.language, "uri": rel(sub.playlist_key)}
        for sub in media.subtitles
    )
    trickplay = (
        {"vtt": rel(media.thumbnails_vtt_key), "sprite": rel(media.sprite_key)}
        if media.thumbnails_vtt_key
        else None
    )
    return LocalAsset(
        key=prefix.strip("/").replace("/", "-"),
        root=Path(settings.MEDIA_ROOT) / prefix,
        renditions=renditions,
        duration_seconds=media.duration,
        markers=_episode_markers(episode),
        subtitles=subtitles,
        trickplay=trickplay,
        content_key=prefix,
    )


def build_master_playlist(
    asset: LocalAsset, *, max_height: int, uri_for: Callable[[str], str]
) -> str:
    """A master playlist listing only renditions at or below `max_height`; every URI through
    `uri_for` (which signs it). DEFAULT: from the local asset. Rewire to the media pipeline."""
    allowed = allowed_renditions(asset, max_height=max_height)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i, sub in enumerate(asset.subtitles):
        default = "YES" if i == 0 and sub.get("default") else "NO"
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{sub["name"]}",'
            f'LANGUAGE="{sub["language"]}",DEFAULT={default},AUTOSELECT=YES,'
            f'URI="{uri_for(sub["uri"])}"'
        )
    for rendition in allowed:
        attrs = rendition.attributes
        if asset.subtitles and "SUBTITLES=" not in attrs:
            attrs += ',SUBTITLES="subs"'
        lines.append(f"#EXT-X-STREAM-INF:{attrs}")
        lines.append(uri_for(rendition.uri))
    return "\n".join(lines) + "\n"


# --- cdn: cdn.steering.steer(...) and cdn.signing's scoped tokens -----------------------------
# Local assets are published under this version of their content key (hls/<asset key>/local/);
# the media pipeline's assets carry their own key when it is wired in.
LOCAL_VERSION = "local"


def content_key_for(asset: LocalAsset) -> str:
    """The CDN content key (`hls/<asset>/<version>/`) every file of `asset` is signed under."""
    if asset.content_key:
        return asset.content_key
    return f"hls/{asset.key}/{LOCAL_VERSION}/"


def allowed_renditions(asset: LocalAsset, *, max_height: int) -> list[Rendition]:
    """The renditions a cap allows: those at or below it; a cap below the whole ladder still
    gets the lowest rung. The master playlist and the session's tokens both follow this."""
    allowed = [r for r in asset.renditions if r.height <= max_height]
    if not allowed and asset.renditions:
        allowed = [asset.renditions[0]]
    return allowed


@dataclass(frozen=True)
class MediaAccess:
    """What one session may fetch until `expires_at`: an edge base URL and one signed token
    per scope (a rendition's folder, the subtitles, each trickplay file) of its asset; never
    the asset's own uncapped master playlist, nor a rendition above the session's cap."""

    base: str
    content_key: str
    tokens: dict[str, str]  # scope ("hls/<asset>/<version>/720p/") -> "t/.../<scope>"
    expires_at: datetime

    def url(self, uri: str) -> str:
        """The signed URL of `uri` (relative to the asset); KeyError outside the scopes."""
        path = self.content_key + uri
        scope = cdn_signing.scope_of(path)
        return self.base + self.tokens[scope] + path[len(scope) :]


def media_access(
    asset: LocalAsset,
    *,
    max_height: int,
    expires_at: datetime,
    client_ip: str | None,
    country: str | None = None,
) -> MediaAccess:
    """Tokens for every file a session capped at `max_height` plays, on the best edge from the
    CDN's steering (the origin, CDN_ORIGIN_URL, when there are no edges).

    Tokens sit in the path, so relative URIs inside a rendition's playlist inherit them."""
    key = content_key_for(asset)
    decision = cdn_steering.steer(
        # an unknown address is located by country / global default, never bound to
        client_ip=client_ip or "0.0.0.0",  # noqa: S104
        content_key=key,
        country=country,
        count=1,
    )
    base = decision.urls[0] if decision.urls else settings.CDN_ORIGIN_URL
    uris = [r.uri for r in allowed_renditions(asset, max_height=max_height)]
    uris += [sub["uri"] for sub in asset.subtitles]
    if asset.trickplay:
        uris += [asset.trickplay["vtt"], asset.trickplay["sprite"]]
    scopes = sorted({cdn_signing.scope_of(key + uri) for uri in uris})
    tokens = {
        scope: cdn_signing.sign_prefix(scope, expires_at=expires_at, client_ip=client_ip)
        for scope in scopes
    }
    return MediaAccess(base=base, content_key=key, tokens=tokens, expires_at=expires_at)


def local_media_file(signed: str, *, client_ip: str | None) -> tuple[str, str] | None:
    """(asset key, path inside the asset) for a signed local-asset path `t/...`, checked by
    cdn.signing (PermissionDenied with code "expired" or "bad_token"); None when the path is
    not a local asset (the CDN app's own media view serves it)."""
    verified = cdn_signing.verify_path(signed, client_ip=client_ip)
    _, key, version, _ = verified.content_key.split("/")
    if version != LOCAL_VERSION:
        return None
    return key, verified.path[len(verified.content_key) :]


# --- playback: the session's own master playlist link (always served by Django) ---------------
def _signature(prefix: str, expires: int) -> str:
    mac = hmac.new(
        settings.PLAYBACK_SIGNING_KEY.encode(), f"{expires}:{prefix}".encode(), hashlib.sha256
    )
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode().rstrip("=")


def sign_link(prefix: str, *, expires_at: datetime) -> tuple[int, str]:
    """(expires, signature) for a playback link (a session's master playlist)."""
    expires = int(expires_at.timestamp())
    return expires, _signature(prefix, expires)


def verify_link(
    prefix: str, *, expires: int, signature: str, now: datetime | None = None
) -> str | None:
    """None when the signature is good and unexpired; else the reason ("expired", "bad")."""
    now = now or timezone.now()
    if not hmac.compare_digest(_signature(prefix, expires), signature):
        return "bad"
    if expires < int(now.timestamp()):
        return "expired"
    return None
