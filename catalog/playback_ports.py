"""Playback's one adapter onto the other apps: every outside contract playback uses is here.

REWIRE AT MERGE. Each function below has a working default so playback stands on its own;
the comment above it names the contract it stands in for. The lead replaces the body with a
call into the real module and leaves the signature alone (services call only these names,
and tests monkeypatch them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from streamsite.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import Profile, User
    from catalog.models import Episode, Title


# --- billing: billing.entitlements.get_entitlements(account) -> Entitlements ----------------
@dataclass(frozen=True)
class Entitlements:
    can_stream: bool
    max_streams: int
    max_resolution: int
    max_profiles: int
    plan_code: str
    status: str
    reason: str = ""


def get_entitlements(account: User) -> Entitlements:
    """DEFAULT: everyone may stream, limits from settings. Rewire: billing.entitlements."""
    return Entitlements(
        can_stream=True,
        max_streams=settings.PLAYBACK_DEFAULT_MAX_STREAMS,
        max_resolution=settings.PLAYBACK_DEFAULT_MAX_RESOLUTION,
        max_profiles=settings.ACCOUNTS_MAX_PROFILES,
        plan_code="default",
        status="active",
    )


# --- accounts: accounts.selectors.request_profile(request, required=True) ---------------------
PROFILE_SESSION_KEY = "profile_id"


def request_profile(request: HttpRequest, *, required: bool = True) -> Profile | None:
    """The profile this request acts as: `X-Profile-Id` header, else the profile picked in the
    browser session. With `required`, fall back to the account's first profile.

    DEFAULT until accounts lands; rewire to accounts.selectors.request_profile.
    """
    from accounts.models import Profile

    user = request.user
    if not user.is_authenticated:
        return None
    raw = request.headers.get("X-Profile-Id") or request.session.get(PROFILE_SESSION_KEY)
    if raw not in (None, ""):
        try:
            profile_id = int(str(raw))
        except (TypeError, ValueError):
            raise ValidationFailed("X-Profile-Id must be a profile id (a number).") from None
        profile = Profile.objects.filter(pk=profile_id, account=user).first()
        if profile is None:
            raise NotFound("No such profile on this account.")
        return profile
    if not required:
        return None
    profile = Profile.objects.filter(account=user).order_by("created_at", "id").first()
    if profile is None:
        raise ValidationFailed("Create a viewer profile before you watch.", code="no_profile")
    return profile


# --- catalog: regional availability and maturity -------------------------------------------
@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def check_viewing_allowed(
    *, profile: Profile, title: Title, episode: Episode | None, country: str
) -> Refusal | None:
    """None when `profile` may watch here; else why not.

    DEFAULT: only unpublished titles are refused. Rewire to the catalog's availability windows
    (`title.available_in(country)`) and maturity ratings (`rating <= profile.maturity`).
    """
    if not title.is_published:
        return Refusal("unavailable", f"“{title.name}” is not available to watch.")
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
    """Store the latest position; an older `at` never overwrites a newer one.

    DEFAULT: playback's own table (PlaybackProgress). Rewire to catalog's record_progress.
    """
    from catalog.services.playback import progress_store

    progress_store(
        profile_id=profile_id,
        title_id=title_id,
        episode_id=episode_id,
        position_seconds=position_seconds,
        duration_seconds=duration_seconds,
        at=at,
    )


def resume_position(*, profile: Profile, title: Title, episode: Episode | None) -> float:
    """Seconds to resume from (0 when never watched or finished). DEFAULT: PlaybackProgress."""
    from catalog.models import PlaybackProgress

    row = (
        PlaybackProgress.objects.filter(profile=profile, title=title, episode=episode)
        .only("position_seconds", "duration_seconds")
        .first()
    )
    if row is None:
        return 0.0
    if row.duration_seconds and row.position_seconds >= 0.9 * row.duration_seconds:
        return 0.0  # finished: start again from the beginning
    return row.position_seconds


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


_STREAM_INF = re.compile(r"^#EXT-X-STREAM-INF:(?P<attrs>.*)$")
_RESOLUTION = re.compile(r"RESOLUTION=(\d+)x(\d+)")
_BANDWIDTH = re.compile(r"(?:^|,)BANDWIDTH=(\d+)")


def asset_key_for(*, title: Title, episode: Episode | None) -> str:
    return f"episode-{episode.pk}" if episode is not None else f"title-{title.pk}"


def find_asset(*, title: Title, episode: Episode | None) -> LocalAsset | None:
    """The playable asset of a title or episode, or None. DEFAULT: a local folder named
    `title-<id>` / `episode-<id>` under PLAYBACK_MEDIA_ROOT. Rewire to the media pipeline."""
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


def build_master_playlist(
    asset: LocalAsset, *, max_height: int, uri_for: Callable[[str], str]
) -> str:
    """A master playlist listing only renditions at or below `max_height`; every URI through
    `uri_for` (which signs it). DEFAULT: from the local asset. Rewire to the media pipeline."""
    allowed = [r for r in asset.renditions if r.height <= max_height]
    if not allowed and asset.renditions:
        allowed = [asset.renditions[0]]  # a cap below the whole ladder still gets the lowest
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


# --- cdn: cdn.steering.steer(...) and cdn.signing.sign_prefix(prefix, expires_at, client_ip) -
MEDIA_URL_PREFIX = "/media/v/"


def _signature(prefix: str, expires: int) -> str:
    mac = hmac.new(
        settings.PLAYBACK_SIGNING_KEY.encode(), f"{expires}:{prefix}".encode(), hashlib.sha256
    )
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode().rstrip("=")


def sign_prefix(prefix: str, *, expires_at: datetime, client_ip: str | None = None) -> str:
    """A URL base under which every path of `prefix` (an asset key) is readable until
    `expires_at`. The token sits in the path so relative URIs inside playlists inherit it.

    DEFAULT: origin URLs signed with a local HMAC (PLAYBACK_SIGNING_KEY), checked by
    catalog.views_playback.media (demo) or nginx. Rewire to cdn.steering + cdn.signing.
    """
    expires = int(expires_at.timestamp())
    return f"{MEDIA_URL_PREFIX}{expires}/{_signature(prefix, expires)}/{prefix}/"


def verify_prefix(
    prefix: str, *, expires: int, signature: str, now: datetime | None = None
) -> str | None:
    """None when the signature is good and unexpired; else the reason ("expired", "bad")."""
    now = now or timezone.now()
    if not hmac.compare_digest(_signature(prefix, expires), signature):
        return "bad"
    if expires < int(now.timestamp()):
        return "expired"
    return None
