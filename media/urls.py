"""Browser pages of the media pipeline: none of its own (staff work in the admin)."""

from django.urls import URLPattern

app_name = "media"

urlpatterns: list[URLPattern] = []
