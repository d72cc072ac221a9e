"""Browser pages of the catalog app."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("title/<slug:slug>", views.title_detail, name="title"),
    path("title/<slug:slug>/my-list", views.my_list_toggle, name="my-list-toggle"),
    path("title/<slug:slug>/rate", views.rate, name="rate"),
    path("search", views.search, name="search"),
    path("history", views.history, name="history"),
    path("history/<slug:slug>/remove", views.history_remove, name="history-remove"),
    path("genre/<slug:slug>", views.genre, name="genre"),
    path("browse/a-z", views.a_to_z, name="a-to-z"),
]
