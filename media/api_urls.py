"""REST API routes of the media pipeline (staff; mounted under /api/v1/)."""

from django.urls import path

from media import apis

urlpatterns = [
    path("media/assets", apis.AssetListCreateApi.as_view(), name="media-assets"),
    path("media/assets/<int:asset_id>", apis.AssetDetailApi.as_view(), name="media-asset"),
    *[
        path(
            f"media/assets/<int:asset_id>/{action}",
            apis.AssetActionApi.as_view(action=action),
            name=f"media-asset-{action}",
        )
        for action in ("retry", "cancel", "reencode")
    ],
    path(
        "media/assets/<int:asset_id>/subtitles",
        apis.SubtitleApi.as_view(),
        name="media-asset-subtitles",
    ),
]
