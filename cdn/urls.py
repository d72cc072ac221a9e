"""Browser pages of the cdn app."""

from django.conf import settings
from django.urls import path

from cdn import views

app_name = "cdn"

urlpatterns = [
    path("cdn/sites", views.sites, name="sites"),
    path("cdn/where", views.where, name="where"),
    path("cdn/coverage-import", views.coverage_import, name="coverage-import"),
]

# Signed media under MEDIA_URL when Django is the origin (make demo; CDN_SERVE_MEDIA).
if settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:signed>".lstrip("/"),
            views.signed_media,
            name="signed-media",
        )
    )
