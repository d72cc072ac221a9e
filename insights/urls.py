"""Browser pages of the insights app: the staff dashboard and its CSV downloads."""

from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("staff/", views.dashboard, name="dashboard"),
    path("staff/charts/<slug:name>.csv", views.chart_csv, name="chart-csv"),
]
