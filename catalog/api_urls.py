"""REST API routes of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog import apis

urlpatterns = [
    path("titles", apis.TitleListApi.as_view(), name="titles"),
    path("titles/facets", apis.TitleFacetsApi.as_view(), name="title-facets"),
    path("titles/<int:title_id>", apis.TitleDetailApi.as_view(), name="title-detail"),
    path("genres", apis.GenreListApi.as_view(), name="genres"),
    path("people", apis.PersonListApi.as_view(), name="people"),
    path("people/<int:person_id>", apis.PersonDetailApi.as_view(), name="person-detail"),
]
