"""Browser pages of the catalog app."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("title/<slug:slug>", views.title_detail, name="title"),
    path("search", views.search, name="search"),
    path("genre/<slug:slug>", views.genre, name="genre"),
    path("browse/a-z", views.a_to_z, name="a-to-z"),
]
