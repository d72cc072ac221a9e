"""REST API routes of the recommendations app (mounted under /api/v1/)."""

urlpatterns: list = []
