"""Playback sessions: start (checks + a concurrent-stream lease, `playback.services.leases`),
heartbeats, stop; the heartbeats' positions go through the buffer in
`playback.services.positions`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Profile, User
from catalog.models import Episode, Title
from playback import ports
from playback.models import PlaybackSession
from playback.services import leases, positions
from streamsite.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from streamsite.prebuilt import OneTrip, one_trip_possible

logger = logging.getLogger(__name__)


def url_ttl() -> timedelta:
    """How long the session's master playlist link lives (each fetch re-checks everything)."""
    return timedelta(seconds=settings.PLAYBACK_URL_TTL_SECONDS)


def media_ttl() -> timedelta:
    """How long a media token lives: one heartbeat interval. The player renews its tokens with
    every heartbeat (sent more often than that), so a session that is stopped, loses its lease
    or its entitlement stops getting tokens and its URLs die within one interval."""
    return timedelta(seconds=settings.PLAYBACK_HEARTBEAT_SECONDS)


@dataclass(frozen=True)
class StartedSession:
    session: PlaybackSession
    asset: ports.LocalAsset
    entitlements: ports.Entitlements
    resume_seconds: float
    master_path: str
    access: ports.MediaAccess
    next_episode: Episode | None


# --- signed URLs ------------------------------------------------------------------------------
def master_path(session: PlaybackSession, *, now: datetime) -> str:
    """The session's own master playlist, signed by cdn.signing (the one signer) for this
    session's path and, like its media tokens, the address it started from."""
    signed = ports.sign_master_link(
        str(session.pk), expires_at=now + url_ttl(), client_ip=session.client_ip
    )
    return f"/playback/{signed}"


def master_playlist(*, signed: str, client_ip: str | None, now: datetime | None = None) -> str:
    """The capped master playlist for a session (`signed`: `t/.../session/<id>/master.m3u8`),
    every rendition listed once per ranked edge with fresh media tokens."""
    now = now or timezone.now()
    try:
        session_id = ports.verify_master_link(signed, client_ip=client_ip, now=now)
    except PermissionDenied as exc:
        if exc.code == "expired":
            raise PermissionDenied(
                gettext("This playback link has expired; start playback again."), code="expired"
            ) from None
        raise PermissionDenied(gettext("This playback link is not valid.")) from None
    session = (
        PlaybackSession.objects.select_related("title", "episode", "account", "profile")
        .filter(pk=session_id)
        .first()
    )
    if session is None or session.ended_at is not None:
        raise NotFound(gettext("This playback session has ended."))
    if session.expires_at <= now:
        raise PermissionDenied(
            gettext("This playback session lost its stream slot; start playback again."),
            code="lease_lost",
        )
    entitlements = _recheck(session, now=now)
    asset = ports.find_asset(title=session.title, episode=session.episode)
    if asset is None:
        raise NotFound(gettext("This title has no playable video."))
    access = _access(session, asset, max_height=entitlements.max_resolution, now=now)
    return ports.build_master_playlist(
        asset, max_height=min(session.max_height, entitlements.max_resolution), access=access
    )


def _access(
    session: PlaybackSession,
    asset: ports.LocalAsset,
    *,
    max_height: int,
    now: datetime,
    steering: ports.Steering | None = None,
) -> ports.MediaAccess:
    return ports.media_access(
        asset,
        max_height=min(session.max_height, max_height),
        expires_at=now + media_ttl(),
        client_ip=session.client_ip,
        country=session.account.effective_country,
        steering=steering,
    )


def _recheck(session: PlaybackSession, *, now: datetime) -> ports.Entitlements:
    """The checks of session_start again, for a session already playing (heartbeats and
    master-playlist fetches): the account's entitlement and the profile's maturity and region.
    A refused session is ended, so its tokens are never renewed; raises PermissionDenied."""
    account = session.account
    entitlements = ports.get_entitlements(account)
    refusal: ports.Refusal | None = None
    if not entitlements.can_stream:
        refusal = ports.Refusal(
            "not_entitled", entitlements.reason or "Your plan does not include streaming."
        )
    else:
        refusal = ports.check_viewing_allowed(
            profile=session.profile,
            title=session.title,
            episode=session.episode,
            country=account.effective_country,
        )
    if refusal is None:
        return entitlements
    positions.flush_one(session)
    PlaybackSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=refusal.code[:16]
    )
    extra = (
        {"action": ports.plan_action(entitlements.status)}
        if refusal.code == "not_entitled"
        else None
    )
    raise PermissionDenied(refusal.message, code=refusal.code, extra=extra)


# --- starting a session -----------------------------------------------------------------------
def _resolve_content(
    *, title: Title | None, episode: Episode | None
) -> tuple[Title, Episode | None]:
    if episode is not None:
        episode_title = episode.season.title
        if title is not None and title.pk != episode_title.pk:
            raise ValidationFailed(
                gettext("That episode belongs to another title."),
                extra={"fields": {"episode_id": [gettext("Not an episode of this title.")]}},
            )
        return episode_title, episode
    if title is None:
        raise ValidationFailed(
            gettext("Say what to play: a title_id or an episode_id."),
            extra={"fields": {"title_id": [gettext("Give a title_id or an episode_id.")]}},
        )
    if title.kind == Title.Kind.SERIES:
        first = (
            Episode.objects.filter(season__title=title)
            .select_related("season")
            .order_by("season__number", "number")
            .first()
        )
        if first is None:
            raise NotFound(gettext("This series has no episodes yet."), code="no_media")
        return title, first
    return title, None


def next_episode_of(episode: Episode | None) -> Episode | None:
    if episode is None:
        return None
    season = episode.season
    following = (
        Episode.objects.filter(season=season, number__gt=episode.number).order_by("number").first()
    )
    if following is not None:
        return following
    return (
        Episode.objects.filter(season__title_id=season.title_id, season__number__gt=season.number)
        .select_related("season")
        .order_by("season__number", "number")
        .first()
    )


def session_start(
    *,
    account: User,
    profile: Profile,
    title: Title | None = None,
    episode: Episode | None = None,
    device: str = "",
    client_ip: str | None = None,
    now: datetime | None = None,
) -> StartedSession:
    """Start playing: entitlement, availability and maturity checks, then a stream lease."""
    now = now or timezone.now()
    if profile.account_id != account.pk:
        raise NotFound(gettext("No such profile on this account."))
    title, episode = _resolve_content(title=title, episode=episode)
    entitlements = ports.get_entitlements(account)
    if not entitlements.can_stream:
        raise PermissionDenied(
            entitlements.reason or "Your plan does not include streaming.",
            code="not_entitled",
            extra={"action": ports.plan_action(entitlements.status)},
        )
    refusal = ports.check_viewing_allowed(
        profile=profile, title=title, episode=episode, country=account.effective_country
    )
    if refusal is not None:
        raise PermissionDenied(refusal.message, code=refusal.code)
    asset = ports.find_asset(title=title, episode=episode)
    if asset is None:
        raise NotFound(gettext("This title has no playable video yet."), code="no_media")
    # Steered before the transaction (no call out while the account is locked), recorded in it.
    steering = ports.steer(
        asset, client_ip=client_ip, country=account.effective_country, record=False
    )
    create = {
        "profile": profile,
        "title": title,
        "episode": episode,
        "device": device[:120],
        "client_ip": client_ip,
        "max_height": entitlements.max_resolution,
        "duration_seconds": asset.duration_seconds,
    }
    if one_trip_possible():
        session, resume = _start_in_one_trip(
            account=account,
            max_streams=entitlements.max_streams,
            now=now,
            create=create,
            steering=steering,
        )
    else:
        session = leases.claim_lease(
            account=account,
            max_streams=entitlements.max_streams,
            now=now,
            also=lambda: ports.steering_keep(steering),
            create=create,
        )
        resume = ports.resume_position(profile=profile, title=title, episode=episode)
    return StartedSession(
        session=session,
        asset=asset,
        entitlements=entitlements,
        resume_seconds=resume,
        master_path=master_path(session, now=now),
        access=_access(
            session, asset, max_height=entitlements.max_resolution, now=now, steering=steering
        ),
        next_episode=next_episode_of(episode),
    )


def _start_in_one_trip(
    *,
    account: User,
    max_streams: int,
    now: datetime,
    create: dict[str, Any],
    steering: ports.Steering,
) -> tuple[PlaybackSession, float]:
    """`leases.claim_lease` for a new lease, its steering decision and the resume position
    read, all in one round trip to PostgreSQL (`streamsite.prebuilt.OneTrip`): the lock row's
    upsert, the lease unless the live ones fill the plan (a statement after the lock, so its
    snapshot sees every claim committed before ours), the decision only if the lease went in,
    the progress row; one transaction, committed with the message. The same claim as
    `leases.claim_lease`'s, without its five round trips (BEGIN, three statements, COMMIT)
    and the read after."""
    session = PlaybackSession(
        account=account, created_at=now, expires_at=now + leases.lease_ttl(), **create
    )
    trip = OneTrip()
    trip.add(*leases.lock_statement(account.pk))
    lease = trip.insert(session, unless=leases.at_limit(account.pk, now, max_streams))
    decision = ports.steering_row(steering)
    if decision is not None:
        trip.insert(decision, when=leases.lease_exists(session))
    progress = trip.add(
        *ports.resume_statement(
            profile=create["profile"], title=create["title"], episode=create["episode"]
        )
    )
    results = trip.run()
    if results[lease].rowcount != 1:
        leases.refuse(PlaybackSession.objects.live(now).for_account(account.pk), max_streams)
    if decision is None:
        ports.steering_keep(steering)  # buffered, or not recorded (cdn.steering.decision_keep)
    rows = results[progress].rows
    return session, ports.resume_seconds(rows[0] if rows else None)


# --- finding a session ------------------------------------------------------------------------
def session_for(
    *, account: User, session_id: UUID, profile: Profile | None = None
) -> PlaybackSession:
    """The account's session (and the given profile's, when one is named); else 404."""
    session = (
        PlaybackSession.objects.select_related("account", "profile", "title", "episode")
        .filter(pk=session_id, account_id=account.pk)
        .first()
    )
    if session is None or (profile is not None and session.profile_id != profile.pk):
        raise NotFound(gettext("No such playback session."))
    return session


# --- heartbeats and stopping ---------------------------------------------------------------------
@dataclass(frozen=True)
class HeartbeatResult:
    session: PlaybackSession
    applied: bool
    access: ports.MediaAccess | None  # fresh tokens; None when the asset went away


def _check_position(position: float, duration: float | None) -> None:
    if position < 0 or (duration is not None and duration < 0):
        raise ValidationFailed(
            gettext("Positions are seconds from the start, never negative."),
            extra={"fields": {"position": [gettext("Must be 0 or more.")]}},
        )


def session_heartbeat(
    *,
    account: User,
    session_id: UUID,
    seq: int,
    position: float,
    state: str = "playing",
    duration: float | None = None,
    profile: Profile | None = None,
    now: datetime | None = None,
) -> HeartbeatResult:
    """Re-check the entitlement, maturity and region, renew the lease, buffer the position and
    hand out fresh media tokens. A heartbeat whose `seq` is not newer than the last applied one
    renews the lease but never moves the position back. A refused session is ended."""
    now = now or timezone.now()
    _check_position(position, duration)
    session = session_for(account=account, session_id=session_id, profile=profile)
    if session.ended_at is not None:
        raise Conflict(
            "This playback session was stopped"
            + (" from another device." if session.end_reason == "terminated" else ".")
            + " Start playback again to continue.",
            code="session_ended",
        )
    entitlements = _recheck(session, now=now)
    if session.expires_at <= now:
        # The lease lapsed (a sleeping laptop): take it again if the plan still has room.
        session = leases.claim_lease(
            account=account, max_streams=entitlements.max_streams, now=now, revive=session
        )
    else:
        PlaybackSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            expires_at=now + leases.lease_ttl(), last_heartbeat_at=now, state=state[:16]
        )
        session.expires_at = now + leases.lease_ttl()
    if entitlements.max_resolution < session.max_height:
        # A downgraded plan: from now on this session gets tokens for the lower rungs only.
        PlaybackSession.objects.filter(pk=session.pk).update(max_height=entitlements.max_resolution)
        session.max_height = entitlements.max_resolution
    applied = positions.buffer_position(
        session, seq=seq, position=position, duration=duration, at=now
    )
    asset = ports.find_asset(title=session.title, episode=session.episode)
    access = (
        _access(session, asset, max_height=session.max_height, now=now)
        if asset is not None
        else None
    )
    return HeartbeatResult(session=session, applied=applied, access=access)


def session_stop(
    *,
    account: User,
    session_id: UUID,
    seq: int | None = None,
    position: float | None = None,
    duration: float | None = None,
    profile: Profile | None = None,
    now: datetime | None = None,
) -> PlaybackSession:
    """End the session: record the last position now (not at the next flush), free the lease.
    Stopping an ended session again changes nothing."""
    now = now or timezone.now()
    session = session_for(account=account, session_id=session_id, profile=profile)
    if session.ended_at is not None:
        return session
    if position is not None and seq is not None:
        _check_position(position, duration)
        positions.buffer_position(session, seq=seq, position=position, duration=duration, at=now)
    positions.flush_one(session)
    PlaybackSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason="stopped"
    )
    session.refresh_from_db()
    return session


def session_terminate(
    *, account: User, session_id: UUID, now: datetime | None = None
) -> PlaybackSession:
    """Stop one of the account's streams from another device (any profile of the account)."""
    now = now or timezone.now()
    session = session_for(account=account, session_id=session_id)
    if session.ended_at is None:
        positions.flush_one(session)
        PlaybackSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            ended_at=now, end_reason="terminated"
        )
        session.refresh_from_db()
    return session


def live_sessions(*, account: User, now: datetime | None = None) -> list[PlaybackSession]:
    now = now or timezone.now()
    return list(
        PlaybackSession.objects.live(now)
        .for_account(account.pk)
        .select_related("profile", "title", "episode")
        .order_by("created_at", "pk")
    )
