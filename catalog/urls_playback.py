"""Playback pages and the demo media route (un-namespaced names: watch, watch-episode, ...)."""

from django.urls import path

from catalog import views_playback

urlpatterns: list = [
    path("watch/<int:title_id>/", views_playback.watch, name="watch"),
    path(
        "watch/<int:title_id>/episode/<int:episode_id>/",
        views_playback.watch,
        name="watch-episode",
    ),
    path(
        "watch/streams/<uuid:session_id>/stop",
        views_playback.stop_stream,
        name="watch-stop-stream",
    ),
    path(
        "playback/<uuid:session_id>/master.m3u8",
        views_playback.master_playlist,
        name="playback-master",
    ),
    path(
        "media/t/<path:signed>",
        views_playback.media,
        name="playback-media",
    ),
]
