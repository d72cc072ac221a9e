"""REST API routes of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog import apis, apis_media, apis_playback

urlpatterns = [
    path("titles", apis.TitleListApi.as_view(), name="titles"),
    path("titles/facets", apis.TitleFacetsApi.as_view(), name="title-facets"),
    path("titles/<int:title_id>", apis.TitleDetailApi.as_view(), name="title-detail"),
    path("genres", apis.GenreListApi.as_view(), name="genres"),
    path("people", apis.PersonListApi.as_view(), name="people"),
    path("people/<int:person_id>", apis.PersonDetailApi.as_view(), name="person-detail"),
    path("my-list", apis.MyListApi.as_view(), name="my-list"),
    path("my-list/<int:title_id>", apis.MyListItemApi.as_view(), name="my-list-item"),
    path("ratings", apis.RatingListApi.as_view(), name="ratings"),
    path("ratings/<int:title_id>", apis.RatingItemApi.as_view(), name="rating-item"),
    path("progress", apis.ProgressApi.as_view(), name="progress"),
    path("history", apis.HistoryApi.as_view(), name="history"),
    path("history/<int:title_id>", apis.HistoryItemApi.as_view(), name="history-item"),
    path(
        "playback/sessions",
        apis_playback.SessionListCreateApi.as_view(),
        name="playback-sessions",
    ),
    path(
        "playback/sessions/<uuid:session_id>",
        apis_playback.SessionDetailApi.as_view(),
        name="playback-session",
    ),
    path(
        "playback/sessions/<uuid:session_id>/heartbeat",
        apis_playback.HeartbeatApi.as_view(),
        name="playback-heartbeat",
    ),
    path(
        "playback/sessions/<uuid:session_id>/stop",
        apis_playback.StopApi.as_view(),
        name="playback-stop",
    ),
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
