"""REST API routes of playback: sessions and viewing activity (mounted under /api/v1/)."""

from django.urls import path

from playback.apis import activity, sessions

urlpatterns = [
    path("my-list", activity.MyListApi.as_view(), name="my-list"),
    path("my-list/<int:title_id>", activity.MyListItemApi.as_view(), name="my-list-item"),
    path("ratings", activity.RatingListApi.as_view(), name="ratings"),
    path("ratings/<int:title_id>", activity.RatingItemApi.as_view(), name="rating-item"),
    path("progress", activity.ProgressApi.as_view(), name="progress"),
    path("history", activity.HistoryApi.as_view(), name="history"),
    path("history/<int:title_id>", activity.HistoryItemApi.as_view(), name="history-item"),
    path("playback/sessions", sessions.SessionListCreateApi.as_view(), name="playback-sessions"),
    path(
        "playback/sessions/<uuid:session_id>",
        sessions.SessionDetailApi.as_view(),
        name="playback-session",
    ),
    path(
        "playback/sessions/<uuid:session_id>/heartbeat",
        sessions.HeartbeatApi.as_view(),
        name="playback-heartbeat",
    ),
    path(
        "playback/sessions/<uuid:session_id>/stop",
        sessions.StopApi.as_view(),
        name="playback-stop",
    ),
]
