"""Browser pages of the catalog app."""

urlpatterns: list = []
