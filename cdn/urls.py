"""Browser pages of the cdn app."""

import re

from django.conf import settings
from django.urls import path, re_path

from cdn import views

app_name = "cdn"

urlpatterns = [
    path("cdn/sites", views.sites, name="sites"),
    path("cdn/where", views.where, name="where"),
    path("cdn/coverage-import", views.coverage_import, name="coverage-import"),
]

# Signed media under MEDIA_URL when Django is the origin in development (CDN_SERVE_MEDIA): the
# one owner of `<MEDIA_URL>t/`. Only token paths: artwork and avatars reach plain media serving.
if settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.strip('/'))}/(?P<signed>t/.+)$",
            views.signed_media,
            name="signed-media",
        )
    )
