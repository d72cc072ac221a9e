"""Staff REST endpoints of the media pipeline: upload, job status, retry/cancel, subtitles."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Episode, Title
from media import services, subtitles
from media.models import MediaAsset
from media.selectors import asset_for_staff, assets_for_staff
from streamsite import roles
from streamsite.api.auth import request_user
from streamsite.api.pagination import PageNumberPagination
from streamsite.api.permissions import staff_rule
from streamsite.api.serializers import InputSerializer
from streamsite.errors import NotFound, ValidationFailed


class RenditionOutput(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    target_bitrate = serializers.IntegerField()
    bandwidth = serializers.IntegerField()
    average_bandwidth = serializers.IntegerField()
    codecs = serializers.CharField()
    frame_rate = serializers.FloatField()
    playlist_key = serializers.CharField()
    size_bytes = serializers.IntegerField()
    vmaf = serializers.FloatField(allow_null=True)
    ssim = serializers.FloatField(allow_null=True)


class SubtitleOutput(serializers.Serializer):
    language = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    vtt_key = serializers.CharField()


class AssetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    uuid = serializers.UUIDField()
    title_id = serializers.IntegerField(allow_null=True)
    episode_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    progress = serializers.IntegerField()
    version = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    source_name = serializers.CharField()
    source_size = serializers.IntegerField()
    duration = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    frame_rate = serializers.FloatField(allow_null=True)
    ladder_method = serializers.CharField()
    ready_version = serializers.IntegerField(allow_null=True)
    content_key = serializers.CharField()
    master_key = serializers.CharField()
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    renditions = serializers.SerializerMethodField()
    subtitles = SubtitleOutput(many=True, source="subtitles.all")

    def get_renditions(self, asset: MediaAsset) -> list[dict]:
        served = [r for r in asset.renditions.all() if r.version == asset.ready_version]
        return RenditionOutput(served, many=True).data  # type: ignore[return-value]


class AssetDetailOutput(AssetOutput):
    ffmpeg_command = serializers.CharField()
    log_tail = serializers.CharField()


def _asset_or_404(asset_id: int) -> MediaAsset:
    asset = asset_for_staff(asset_id)
    if asset is None:
        raise NotFound("No such media asset.")
    return asset


class AssetListCreateApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope
    permission_classes = [staff_rule(roles.can_view_media)]
    parser_classes = [MultiPartParser]

    def get_permissions(self) -> Any:
        if self.request.method == "POST":
            return [staff_rule(roles.can_upload_media)()]
        return super().get_permissions()

    class MediaUploadInputSerializer(InputSerializer):
        file = serializers.FileField(allow_empty_file=False)
        title_id = serializers.IntegerField(required=False, min_value=1)
        episode_id = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(responses=AssetOutput(many=True), summary="List media assets (staff)")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(assets_for_staff(), request, view=self)
        return paginator.get_paginated_response(AssetOutput(page, many=True).data)

    @extend_schema(
        request=MediaUploadInputSerializer,
        responses={201: AssetDetailOutput},
        summary="Upload a source video to a movie or an episode (staff)",
    )
    def post(self, request: Request) -> Response:
        data = self.MediaUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        title_id = data.validated_data.get("title_id")
        episode_id = data.validated_data.get("episode_id")
        title = Title.objects.filter(pk=title_id).first() if title_id else None
        episode = Episode.objects.filter(pk=episode_id).first() if episode_id else None
        if title_id and title is None:
            raise ValidationFailed("No such title.", extra={"fields": {"title_id": ["Unknown."]}})
        if episode_id and episode is None:
            raise ValidationFailed(
                "No such episode.", extra={"fields": {"episode_id": ["Unknown."]}}
            )
        asset = services.asset_create(
            upload=data.validated_data["file"],
            title=title,
            episode=episode,
            created_by=request_user(request),
        )
        return Response(
            AssetDetailOutput(_asset_or_404(asset.pk)).data, status=status.HTTP_201_CREATED
        )


class AssetDetailApi(APIView):
    permission_classes = [staff_rule(roles.can_view_media)]

    @extend_schema(responses=AssetDetailOutput, summary="A media asset and its job (staff)")
    def get(self, request: Request, asset_id: int) -> Response:
        return Response(AssetDetailOutput(_asset_or_404(asset_id)).data)


class AssetActionApi(APIView):
    """POST .../retry, .../cancel or .../reencode."""

    permission_classes = [staff_rule(roles.can_control_transcodes)]
    action = ""

    @extend_schema(request=None, responses=AssetDetailOutput, summary="Control a media job")
    def post(self, request: Request, asset_id: int) -> Response:
        asset = _asset_or_404(asset_id)
        service = {
            "retry": services.asset_retry,
            "cancel": services.asset_cancel,
            "reencode": services.asset_reencode,
        }[self.action]
        service(asset=asset)
        return Response(AssetDetailOutput(_asset_or_404(asset_id)).data)


class SubtitleApi(APIView):
    permission_classes = [staff_rule(roles.can_edit_subtitles)]
    parser_classes = [MultiPartParser]

    class SubtitleInputSerializer(InputSerializer):
        language = serializers.CharField(max_length=16)
        label = serializers.CharField(max_length=64)  # type: ignore[assignment]
        file = serializers.FileField(allow_empty_file=False)

    @extend_schema(
        request=SubtitleInputSerializer,
        responses={201: SubtitleOutput},
        summary="Add or replace a subtitle language (SRT or WebVTT; staff)",
    )
    def post(self, request: Request, asset_id: int) -> Response:
        asset = _asset_or_404(asset_id)
        data = self.SubtitleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subtitle = subtitles.subtitle_put(
            asset=asset,
            language=data.validated_data["language"],
            label=data.validated_data["label"],
            upload=data.validated_data["file"],
        )
        return Response(SubtitleOutput(subtitle).data, status=status.HTTP_201_CREATED)
