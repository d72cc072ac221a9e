"""REST API routes of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog import apis_media

urlpatterns: list = [
    # media pipeline (staff)
    path("media/assets", apis_media.AssetListCreateApi.as_view(), name="media-assets"),
    path(
        "media/assets/<int:asset_id>",
        apis_media.AssetDetailApi.as_view(),
        name="media-asset",
    ),
    *[
        path(
            f"media/assets/<int:asset_id>/{action}",
            apis_media.AssetActionApi.as_view(action=action),
            name=f"media-asset-{action}",
        )
        for action in ("retry", "cancel", "reencode")
    ],
    path(
        "media/assets/<int:asset_id>/subtitles",
        apis_media.SubtitleApi.as_view(),
        name="media-asset-subtitles",
    ),
]
