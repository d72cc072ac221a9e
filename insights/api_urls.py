"""Staff API routes of the insights app (mounted under /api/v1/)."""

from django.urls import path

from insights import apis

urlpatterns = [
    path("staff/charts", apis.ChartListApi.as_view(), name="staff-charts"),
    path("staff/charts/<slug:name>", apis.ChartDetailApi.as_view(), name="staff-chart"),
]
