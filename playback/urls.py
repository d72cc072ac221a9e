"""Playback pages: the watch page, its master playlist, the viewer's activity."""

from django.urls import path, re_path

from playback import views

app_name = "playback"

urlpatterns: list = [
    path("watch/<int:title_id>/", views.watch, name="watch"),
    path("watch/<int:title_id>/episode/<int:episode_id>/", views.watch, name="watch-episode"),
    path("watch/streams/<uuid:session_id>/stop", views.stop_stream, name="watch-stop-stream"),
    # A session's master playlist, signed by cdn.signing: /playback/t/<token>/session/<id>/...
    re_path(r"^playback/(?P<signed>t/.+/master\.m3u8)$", views.master_playlist, name="master"),
    path("title/<slug:slug>/my-list", views.my_list_toggle, name="my-list-toggle"),
    path("title/<slug:slug>/rate", views.rate, name="rate"),
    path("history", views.history, name="history"),
    path("history/<slug:slug>/remove", views.history_remove, name="history-remove"),
]
