"""REST API routes of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog import apis_playback

urlpatterns: list = [
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
]
