"""Browser pages of the cdn app."""

urlpatterns: list = []
