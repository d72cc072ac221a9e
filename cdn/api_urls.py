"""REST API routes of the cdn app (mounted under /api/v1/)."""

urlpatterns: list = []
