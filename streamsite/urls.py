"""Root URLs: pages, the versioned API, its schema and docs, operations probes."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import views as catalog_views
from streamsite import views
from streamsite.routing import SegmentResolver

# Each app owns its API routes (api_urls.py) and its pages (urls.py).
APPS = [
    "accounts",
    "billing",
    "catalog",
    "media",
    "playback",
    "recommendations",
    "cdn",
    "insights",
]
# One flat list under api/v1/: an app's routes included by `path("", include(...))` would be
# tried as a group, and every group that does not match raises and copies its routes into the
# "tried" list before the next is tried. SegmentResolver finds a path's candidates by its
# first segment instead of trying the routes in turn.
api_v1 = [route for app in APPS for route in import_module(f"{app}.api_urls").urlpatterns]

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("start/", views.first_steps, name="start"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    SegmentResolver("api/v1/", api_v1, app_name="api"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *[path("", include(f"{app}.urls")) for app in APPS],
]

handler404 = "streamsite.api.exceptions.json_404"
handler500 = "streamsite.api.exceptions.json_500"

if settings.DEBUG and settings.MEDIA_URL.startswith("/"):
    import re

    from django.urls import re_path
    from django.views.static import serve

    # Artwork and avatars in development; signed media (`t/`) has one owner, the cdn app.
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?!t/)(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )
