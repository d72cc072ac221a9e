"""Browser pages of the recommendations app."""

urlpatterns: list = []
