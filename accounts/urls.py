"""Browser pages of the accounts app."""

urlpatterns: list = []
