"""Playback's one adapter onto the other apps: every outside contract playback uses is here.

Entitlements (billing), the request's profile (accounts), availability and maturity and viewing
activity (catalog), steering and signing (cdn), and assets (the media pipeline's ready asset,
with a local-folder fallback for the playback demo clip and browser fixtures) are wired to the
real apps. Services call only these names, and tests monkeypatch them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext

from accounts import selectors as accounts_selectors
from billing import entitlements as billing_entitlements
from cdn import signing as cdn_signing
from cdn import steering as cdn_steering
from media import playlists
from media import selectors as media_selectors
from streamsite.errors import NotFound, PermissionDenied, ValidationFailed

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest

    from accounts.models import Profile, User
    from catalog.models import Episode, Title


# --- billing: billing.entitlements.get_entitlements(account) -> Entitlements ----------------
Entitlements = billing_entitlements.Entitlements


def get_entitlements(account: User) -> Entitlements:
    """What the account's plan allows: can_stream (+ reason), max_streams, max_resolution."""
    return billing_entitlements.get_entitlements(account)


def entitlements_cache_key(account_id: int) -> str:
    """The cache key `get_entitlements` reads for the account (to read it early)."""
    return billing_entitlements.cache_key(account_id)


def plan_action(status: str = "") -> dict[str, str]:
    """Where a viewer refused for their plan goes to fix it (a page error offers the link):
    the plan picker for an account that never had a plan (status "none"), else billing."""
    if status == "none":
        return {"url": reverse("billing:plans"), "label": gettext("Choose a plan")}
    return {"url": reverse("billing:account"), "label": gettext("Go to billing")}


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
    from catalog.selectors.titles import title_visible
    from catalog.selectors.viewer import Viewer

    if not title.is_published:
        return Refusal("unavailable", f"\u201c{title.name}\u201d is not available to watch.")
    if not accounts_selectors.profile_allows(profile, title.maturity_level):
        return Refusal(
            "maturity",
            f"\u201c{title.name}\u201d is rated above what the profile \u201c{profile.name}\u201d "
            "may watch.",
        )
    code = (country or settings.DEFAULT_COUNTRY).upper()
    # The profile may see this rating (above), so the title is in what it may see in `code`
    # exactly when a licensing window for `code` is open: catalog's shared fragment of the
    # viewer's visible titles (no query when warm), or one EXISTS.
    viewer = Viewer(country=code, max_maturity=int(profile.maturity), profile=profile)
    if not title_visible(viewer, title.pk):
        return Refusal(
            "region",
            f"\u201c{title.name}\u201d is not available to watch in your country ({code}).",
        )
    return None


def find_title(*, title_id: int, profile: Profile) -> Title | None:
    """The title to play (None: no such title): catalog's per-process copy when the profile
    may see it now (no query when warm), else the row, whose refusal check_viewing_allowed
    words. The checks run on either."""
    from catalog.models import Title
    from catalog.selectors.titles import visible_title_copy
    from catalog.selectors.viewer import viewer_for_profile

    found = visible_title_copy(viewer_for_profile(profile), title_id)
    if found is not None:
        return found
    return Title.objects.filter(pk=title_id).first()


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


def resume_statement(
    *, profile: Profile, title: Title, episode: Episode | None
) -> tuple[str, list]:
    """The SELECT of the progress row a resume reads, and its parameters (`resume_position` runs
    it; a start sends it with its lease in one round trip)."""
    from playback.models import Progress

    # Hand-written (one row by its unique key): the queryset's compile cost more CPU than the
    # database's lookup, on every start.
    table = connection.ops.quote_name(Progress._meta.db_table)
    sql = f"SELECT position_seconds, completed FROM {table} WHERE profile_id = %s AND title_id = %s"  # noqa: S608
    params: list = [profile.pk, title.pk]
    if episode is None:
        sql += " AND episode_id IS NULL"
    else:
        sql += " AND episode_id = %s"
        params.append(episode.pk)
    return sql, params


def resume_seconds(row: tuple | None) -> float:
    """Seconds to resume from, given `resume_statement`'s row: 0 when never watched or finished."""
    if row is None or row[1]:
        return 0.0
    return float(row[0])


def resume_position(*, profile: Profile, title: Title, episode: Episode | None) -> float:
    """Seconds to resume from: catalog's progress row; 0 when never watched or finished."""
    sql, params = resume_statement(profile=profile, title=title, episode=episode)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return resume_seconds(row)


# --- media pipeline: HLS assets and its one playlist builder (media.playlists) ---------------
Rendition = playlists.Variant  # a rendition: `uri` relative to the asset's content key


@dataclass(frozen=True)
class LocalAsset:
    """What playback needs of a playable asset: its renditions (ascending height), subtitles
    and trickplay files, all relative to its CDN content key `hls/<asset>/<version>/`."""

    key: str
    renditions: tuple[Rendition, ...]
    duration_seconds: float | None = None
    markers: dict[str, float] = field(default_factory=dict)
    subtitles: tuple[playlists.SubtitleTrack, ...] = ()
    trickplay: dict[str, str] | None = None
    # The CDN content key (`hls/<asset>/<version>/`); empty for a local folder asset.
    content_key: str = ""
    # The audio group: one rendition per language, played with every video rendition (so
    # every session may fetch all of them, whatever its cap). Empty: the variants carry sound.
    audio: tuple[playlists.AudioTrack, ...] = ()


def asset_key_for(*, title: Title, episode: Episode | None) -> str:
    return f"episode-{episode.pk}" if episode is not None else f"title-{title.pk}"


def local_asset_folder(key: str) -> Path:
    """Where a local asset lives: under MEDIA_ROOT at its own content key, like the pipeline's
    assets, so one media server (nginx, or Django in development) serves both."""
    return Path(settings.MEDIA_ROOT) / "hls" / key / LOCAL_VERSION


def find_asset(*, title: Title, episode: Episode | None) -> LocalAsset | None:
    """The playable asset of a title or episode, or None: the media pipeline's ready asset
    first, else a local folder `MEDIA_ROOT/hls/<title-id or episode-id>/local/` holding
    master.m3u8 (+ variants) and an optional asset.json (duration, markers, subtitles,
    trickplay): the playback demo clip and the browser tests' fixtures."""
    pipeline = _pipeline_asset(title=title, episode=episode)
    if pipeline is not None:
        return pipeline
    key = asset_key_for(title=title, episode=episode)
    root = local_asset_folder(key)
    master = root / "master.m3u8"
    if not master.is_file():
        return None
    text = master.read_text(encoding="utf-8")
    variants, _ = playlists.read_master(text)
    meta: dict[str, Any] = {}
    meta_path = root / "asset.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return LocalAsset(
        key=key,
        renditions=tuple(variants),
        duration_seconds=meta.get("duration"),
        markers={k: float(v) for k, v in (meta.get("markers") or {}).items()},
        subtitles=tuple(
            playlists.SubtitleTrack(
                uri=sub["uri"],
                language=sub["language"],
                name=sub.get("name") or sub["language"],
                default=bool(sub.get("default")),
            )
            for sub in meta.get("subtitles") or ()
        ),
        trickplay=meta.get("trickplay"),
        audio=tuple(playlists.read_audio(text)),
    )


def has_asset(*, title: Title, episode: Episode | None) -> bool:
    """Whether find_asset finds one, without loading it (a Play button on a page): one EXISTS
    query, or a look for the local folder's master playlist."""
    if media_selectors.has_ready_asset(
        title_id=title.pk, episode_id=episode.pk if episode is not None else None
    ):
        return True
    folder = local_asset_folder(asset_key_for(title=title, episode=episode))
    return (folder / "master.m3u8").is_file()


def _episode_markers(episode: Episode | None) -> dict[str, float]:
    if episode is None:
        return {}
    names = ("intro_start", "intro_end", "credits_start", "credits_end")
    return {n: float(getattr(episode, n)) for n in names if getattr(episode, n) is not None}


def _pipeline_asset(*, title: Title, episode: Episode | None) -> LocalAsset | None:
    """The media pipeline's ready asset, in the shape the player and playlist builder use."""
    media = (
        media_selectors.ready_asset_media(episode_id=episode.pk)
        if episode is not None
        else media_selectors.ready_asset_media(title_id=title.pk)
    )
    if media is None:
        return None
    prefix = media.content_key.rstrip("/") + "/"

    def rel(key: str) -> str:
        return key[len(prefix) :] if key.startswith(prefix) else key

    trickplay = (
        {"vtt": rel(media.thumbnails_vtt_key), "sprite": rel(media.sprite_key)}
        if media.thumbnails_vtt_key
        else None
    )
    return LocalAsset(
        key=prefix.strip("/").replace("/", "-"),
        renditions=tuple(
            media_selectors.variant_of(r, uri=rel(r.playlist_key)) for r in media.renditions
        ),
        duration_seconds=media.duration,
        markers=_episode_markers(episode),
        subtitles=tuple(
            media_selectors.subtitle_track_of(sub, uri=rel(sub.playlist_key))
            for sub in media.subtitles
        ),
        trickplay=trickplay,
        content_key=prefix,
        audio=tuple(
            media_selectors.audio_track_of(a, uri=rel(a.playlist_key)) for a in media.audio
        ),
    )


def build_master_playlist(asset: LocalAsset, *, max_height: int, access: MediaAccess) -> str:
    """A session's master playlist: the renditions at or below `max_height`, listed once per
    edge of `access` (best first) with that edge's signed URIs: HLS redundant variant streams,
    so the player moves to the next edge when one dies."""
    return playlists.master_playlist(
        variants=allowed_renditions(asset, max_height=max_height),
        subtitles=asset.subtitles,
        audio=asset.audio,
        locations=[partial(access.url, base=base) for base in access.bases],
    )


# --- cdn: cdn.steering.steer(...) and cdn.signing's scoped tokens -----------------------------
# Local assets are published under this version of their content key (hls/<asset key>/local/);
# the media pipeline's assets carry their own key when it is wired in.
LOCAL_VERSION = "local"
# Edges a session's master playlist names (each followed by the origin): the player's failover.
REDUNDANT_EDGES = 2


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
    """What one session may fetch until `expires_at`: ranked edge base URLs (the best first,
    the origin last) and one signed token per scope (a rendition's folder, each audio
    rendition's folder, the subtitles, each trickplay file) of its asset, valid on every edge;
    never the asset's own uncapped master playlist, nor a rendition above the session's cap."""

    bases: tuple[str, ...]
    content_key: str
    tokens: dict[str, str]  # scope ("hls/<asset>/<version>/720p/") -> "t/.../<scope>"
    expires_at: datetime

    def url(self, uri: str, *, base: str | None = None) -> str:
        """The signed URL of `uri` (relative to the asset) on `base` (default: the best edge);
        KeyError outside the scopes."""
        path = self.content_key + uri
        scope = cdn_signing.scope_of(path)
        return (base or self.bases[0]) + self.tokens[scope] + path[len(scope) :]


Steering = cdn_steering.SteeringDecision


def steer(
    asset: LocalAsset, *, client_ip: str | None, country: str | None, record: bool = True
) -> Steering:
    """The CDN's ranked edges for this client and asset (REDUNDANT_EDGES of them, then the
    origin); recorded now, or (`record=False`) later by `steering_keep`."""
    return cdn_steering.steer(
        # an unknown address is located by country / global default, never bound to
        client_ip=client_ip or "0.0.0.0",  # noqa: S104
        content_key=content_key_for(asset),
        country=country,
        count=REDUNDANT_EDGES,
        record=record,
    )


def steering_keep(decision: Steering) -> None:
    """Record a decision made with `steer(record=False)` (cdn's play log)."""
    cdn_steering.decision_keep(decision)


def steering_row(decision: Steering) -> Model | None:
    """The play log's row for a decision made with `steer(record=False)`, when it is to be
    inserted now (a start sends it with its lease); None when `steering_keep` must record it
    instead (buffered) or nothing is recorded."""
    return cdn_steering.decision_row_now(decision)


def media_access(
    asset: LocalAsset,
    *,
    max_height: int,
    expires_at: datetime,
    client_ip: str | None,
    country: str | None = None,
    steering: Steering | None = None,
) -> MediaAccess:
    """Tokens for every file a session capped at `max_height` plays, and the ranked edges from
    the CDN's steering (`steering`, else steered and recorded now; REDUNDANT_EDGES of them,
    then the origin, CDN_ORIGIN_URL) to play from.

    Tokens sit in the path, so relative URIs inside a rendition's playlist inherit them."""
    key = content_key_for(asset)
    decision = steering or steer(asset, client_ip=client_ip, country=country)
    bases = tuple(dict.fromkeys(decision.urls)) or (settings.CDN_ORIGIN_URL,)
    uris = [r.uri for r in allowed_renditions(asset, max_height=max_height)]
    uris += [sound.uri for sound in asset.audio]
    uris += [sub.uri for sub in asset.subtitles]
    if asset.trickplay:
        uris += [asset.trickplay["vtt"], asset.trickplay["sprite"]]
    scopes = sorted({cdn_signing.scope_of(key + uri) for uri in uris})
    tokens = {
        scope: cdn_signing.sign_prefix(scope, expires_at=expires_at, client_ip=client_ip)
        for scope in scopes
    }
    return MediaAccess(bases=bases, content_key=key, tokens=tokens, expires_at=expires_at)


# --- the session's own master playlist link: signed by cdn.signing like every media URL -----
def sign_master_link(session_id: str, *, expires_at: datetime, client_ip: str | None) -> str:
    """`t/.../session/<id>/master.m3u8`: the signed path of a session's master playlist."""
    return cdn_signing.sign_link(
        f"session/{session_id}/master.m3u8", expires_at=expires_at, client_ip=client_ip
    )


def verify_master_link(signed: str, *, client_ip: str | None, now: datetime) -> str:
    """The session id a signed master link names; PermissionDenied (code `expired` or
    `bad_token`) when the token is not good for this client now."""
    path = cdn_signing.verify_link(signed, client_ip=client_ip, now=now)
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != "session" or parts[2] != "master.m3u8":
        raise PermissionDenied(gettext("Not a playback link."), code="bad_token")
    return parts[1]
