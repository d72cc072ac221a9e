"""Playback API: sessions (with a concurrent-stream lease), heartbeats, stop. Used by the web
player and by third-party players alike; see docs/playback.md."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Episode
from playback import ports
from playback.apis.qoe import QoeReportField
from playback.models import PlaybackSession
from playback.services import leases
from playback.services import qoe as qoe_services
from playback.services import sessions as services
from streamsite.api.auth import request_user
from streamsite.api.fields import media_seconds, sequence_number
from streamsite.api.output import Representer
from streamsite.api.serializers import InputSerializer
from streamsite.client_address import client_address
from streamsite.errors import NotFound

PROFILE_HEADER = OpenApiParameter(
    "X-Profile-Id",
    int,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The profile acting; a session of another profile is then 404.",
)


def device_label(request: HttpRequest) -> str:
    """'Chrome on Linux' style label from the User-Agent, for the stream-limit message."""
    agent = request.headers.get("User-Agent", "")
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in agent
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if token in agent
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (agent[:60] if agent else "Unknown device")


def client_ip(request: HttpRequest) -> str | None:
    return client_address(request)


def _episode_brief(episode: Episode | None) -> dict[str, Any] | None:
    if episode is None:
        return None
    return {
        "id": episode.pk,
        "season": episode.season.number,
        "number": episode.number,
        "name": episode.name,
    }


def started_payload(request: HttpRequest, started: services.StartedSession) -> dict[str, Any]:
    """What a player needs to play; shared by the API and the watch page's JSON blob."""
    session = started.session
    asset = started.asset
    trickplay = None
    if asset.trickplay:
        trickplay = {
            "vtt_url": request.build_absolute_uri(started.access.url(asset.trickplay["vtt"]))
        }
    return {
        "session_id": str(session.pk),
        "master_playlist_url": request.build_absolute_uri(started.master_path),
        "lease_expires_at": session.expires_at,
        "lease_seconds": int(leases.lease_ttl().total_seconds()),
        "heartbeat_interval_seconds": settings.PLAYBACK_HEARTBEAT_SECONDS,
        "heartbeat_url": request.build_absolute_uri(
            f"/api/v1/playback/sessions/{session.pk}/heartbeat"
        ),
        "stop_url": request.build_absolute_uri(f"/api/v1/playback/sessions/{session.pk}/stop"),
        "resume_position_seconds": started.resume_seconds,
        "duration_seconds": asset.duration_seconds,
        "max_resolution": session.max_height,
        "markers": asset.markers,
        "trickplay": trickplay,
        "media_tokens": started.access.tokens,
        "media_tokens_expire_at": started.access.expires_at,
        "title": {"id": session.title_id, "name": session.title.name},
        "episode": _episode_brief(session.episode),
        "next_episode": _episode_brief(started.next_episode),
    }


class StartedSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    master_playlist_url = serializers.URLField(
        help_text="Signed and expiring; lists only renditions allowed by the plan."
    )
    lease_expires_at = serializers.DateTimeField()
    lease_seconds = serializers.IntegerField()
    heartbeat_interval_seconds = serializers.IntegerField()
    heartbeat_url = serializers.URLField()
    stop_url = serializers.URLField()
    resume_position_seconds = serializers.FloatField()
    duration_seconds = serializers.FloatField(allow_null=True)
    max_resolution = serializers.IntegerField()
    markers = serializers.DictField(
        child=serializers.FloatField(), help_text="intro_start, intro_end, credits_start (s)."
    )
    media_tokens = serializers.DictField(
        child=serializers.CharField(),
        help_text="Scope (hls/<asset>/<version>/<entry>) -> signed path `t/.../<scope>`: what this "
        "session may fetch. They live one heartbeat interval; every heartbeat answers fresh ones "
        "(put the newest token in place of the old one in any media URL of that scope).",
    )
    media_tokens_expire_at = serializers.DateTimeField()
    trickplay = serializers.DictField(allow_null=True)
    title = serializers.DictField()
    episode = serializers.DictField(allow_null=True)
    next_episode = serializers.DictField(allow_null=True)


# StartedSerializer(payload).data, its fields built once (tests/playback compares the two).
represent_started = Representer(StartedSerializer)


class LiveSessionSerializer(serializers.ModelSerializer):
    profile = serializers.CharField(source="profile.name")
    title = serializers.CharField(source="title.name")

    class Meta:
        model = PlaybackSession
        fields = ["id", "device", "profile", "title", "created_at", "expires_at", "state"]


class SessionListCreateApi(APIView):
    class PlaybackStartInputSerializer(InputSerializer):
        title_id = serializers.IntegerField(required=False, min_value=1)
        episode_id = serializers.IntegerField(required=False, min_value=1)
        profile_id = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text=(
                "Defaults to X-Profile-Id, then the profile picked in the browser. Checked like "
                "the header (the account's, PIN verified); 400 when it differs from the header."
            ),
        )
        device = serializers.CharField(
            required=False, max_length=120, help_text="Shown to other devices at the limit."
        )

    @extend_schema(
        responses=LiveSessionSerializer(many=True),
        summary="The account's playing streams",
        description="Live playback sessions (leases) of every profile of the account.",
    )
    def get(self, request: Request) -> Response:
        sessions = services.live_sessions(account=request_user(request))
        return Response(LiveSessionSerializer(sessions, many=True).data)

    def reads_with_counters(self, request: Request, user_id: int) -> list[str]:
        """A start reads the account's entitlements: with a remembered API token they ride
        along with the request's first cache round trip (accounts.authentication)."""
        return [ports.entitlements_cache_key(user_id)] if request.method == "POST" else []

    @extend_schema(
        request=PlaybackStartInputSerializer,
        responses={201: StartedSerializer},
        parameters=[PROFILE_HEADER],
        summary="Start playback",
        description=(
            "Checks the plan, availability and the profile's maturity, then claims a stream "
            "lease. 403 with a reason when refused; 409 `too_many_streams` naming the playing "
            "devices (`error.sessions`) when the plan's limit is reached."
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.PlaybackStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = request_user(request)
        # The body's profile_id goes through the same rule as the header (owner, PIN, maturity).
        profile = ports.request_profile(request, required=True, profile_id=values.get("profile_id"))
        assert profile is not None
        title = episode = None
        if "episode_id" in values:
            episode = (
                Episode.objects.select_related("season__title")
                .filter(pk=values["episode_id"])
                .first()
            )
            if episode is None:
                raise NotFound(gettext("No such episode."))
        if "title_id" in values:
            title = ports.find_title(title_id=values["title_id"], profile=profile)
            if title is None:
                raise NotFound(gettext("No such title."))
        started = services.session_start(
            account=account,
            profile=profile,
            title=title,
            episode=episode,
            device=values.get("device") or device_label(request),
            client_ip=client_ip(request),
        )
        payload = started_payload(request, started)
        return Response(represent_started(payload), status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Stop one of the account's streams",
        description="Any profile of the account may stop any of its streams (to free a slot).",
    )
    def delete(self, request: Request, session_id: UUID) -> Response:
        services.session_terminate(account=request_user(request), session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HeartbeatApi(APIView):
    class HeartbeatInputSerializer(InputSerializer):
        seq = sequence_number(help_text="Increases with every heartbeat of this session.")
        position = media_seconds(help_text="Seconds from the start.")
        duration = media_seconds(required=False, allow_null=True)
        state = serializers.ChoiceField(
            choices=["playing", "paused", "buffering"], required=False, default="playing"
        )
        qoe = QoeReportField(required=False, help_text="What the player saw since its last report.")

    class HeartbeatOutputSerializer(serializers.Serializer):
        session_id = serializers.UUIDField()
        lease_expires_at = serializers.DateTimeField()
        applied = serializers.BooleanField(
            help_text="False when this heartbeat was older than one already received."
        )
        max_resolution = serializers.IntegerField()
        media_tokens = serializers.DictField(
            child=serializers.CharField(), help_text="Fresh tokens, as in the start response."
        )
        media_tokens_expire_at = serializers.DateTimeField(allow_null=True)
        qoe_accepted = serializers.BooleanField(
            allow_null=True, help_text="False when the report was over the rate; null: none sent."
        )

    @extend_schema(
        request=HeartbeatInputSerializer,
        responses=HeartbeatOutputSerializer,
        parameters=[PROFILE_HEADER],
        summary="Heartbeat: renew the lease, record the position",
        description="Send more often than `heartbeat_interval_seconds` (the player sends every "
        "two thirds of it): media tokens live one interval. 409 `session_ended` when the stream "
        "was stopped; 403 `not_entitled`, `maturity`, `region` or `unavailable` when the "
        "account or profile may no longer watch (the session is then ended).",
    )
    def post(self, request: Request, session_id: UUID) -> Response:
        data = self.HeartbeatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = services.session_heartbeat(
            account=request_user(request),
            session_id=session_id,
            profile=ports.request_profile(request, required=False),
            seq=values["seq"],
            position=values["position"],
            duration=values.get("duration"),
            state=values["state"],
        )
        qoe_accepted = None
        if "qoe" in values:
            # A replayed heartbeat (not applied) renews the lease but is not counted twice.
            qoe_accepted = result.applied and qoe_services.qoe_record(
                session=result.session, report=values["qoe"]
            )
        return Response(
            self.HeartbeatOutputSerializer(
                {
                    "session_id": result.session.pk,
                    "lease_expires_at": result.session.expires_at,
                    "applied": result.applied,
                    "max_resolution": result.session.max_height,
                    "media_tokens": result.access.tokens if result.access else {},
                    "media_tokens_expire_at": (result.access.expires_at if result.access else None),
                    "qoe_accepted": qoe_accepted,
                }
            ).data
        )


class StopApi(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    class PlaybackStopInputSerializer(InputSerializer):
        seq = sequence_number(required=False)
        position = media_seconds(required=False)
        duration = media_seconds(required=False, allow_null=True)
        qoe = QoeReportField(
            required=False, help_text="The last QoE report (a JSON string in a form body)."
        )

    @extend_schema(
        request=PlaybackStopInputSerializer,
        responses={204: None},
        parameters=[PROFILE_HEADER],
        summary="Stop playback (also takes a navigator.sendBeacon form body)",
        description="Records the last position at once and frees the lease. Idempotent.",
    )
    def post(self, request: Request, session_id: UUID) -> Response:
        data = self.PlaybackStopInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        now = timezone.now()
        session = services.session_stop(
            account=request_user(request),
            session_id=session_id,
            profile=ports.request_profile(request, required=False),
            seq=values.get("seq"),
            position=values.get("position"),
            duration=values.get("duration"),
            now=now,
        )
        if "qoe" in values and session.ended_at == now:
            # Only the stop that ended the session counts its report (a repeated beacon does not).
            qoe_services.qoe_record(session=session, report=values["qoe"], now=now)
        return Response(status=status.HTTP_204_NO_CONTENT)
