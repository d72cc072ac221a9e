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

# Signed media under MEDIA_URL when Django is the origin (make demo; CDN_SERVE_MEDIA). Only
# token paths (`t/...`): other media (artwork, avatars) must still reach plain media serving.
if settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.strip('/'))}/(?P<signed>t/.+)$",
            views.signed_media,
            name="signed-media",
        )
    )
