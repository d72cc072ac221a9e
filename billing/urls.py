"""Browser pages of the billing app."""

urlpatterns: list = []
