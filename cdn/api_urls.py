"""REST API routes of the cdn app (mounted under /api/v1/)."""

from django.urls import path

from cdn import apis

urlpatterns = [
    path("cdn/steer", apis.SteerApi.as_view(), name="cdn-steer"),
    path("cdn/topology", apis.TopologyApi.as_view(), name="cdn-topology"),
]
