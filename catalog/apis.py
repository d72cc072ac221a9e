"""REST API of the catalogue. Thin: input -> selector/service
-> output. Every read is scoped to the requesting viewer (profile, else account) region/maturity."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.models import Max
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors
from catalog.caching import Uncacheable, cached_fragment
from catalog.models import Title
from catalog.selectors.viewer import request_viewer
from streamsite.api.pagination import PageNumberPagination
from streamsite.conditional import CachedBody, cached_body, respond

PROFILE_HEADER = OpenApiParameter(
    "X-Profile-Id",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="The profile acting; optional when the account has exactly one profile.",
)

ORDERINGS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "year": ("year", "name", "id"),
    "-year": ("-year", "name", "id"),
    "popular": ("-view_count", "name", "id"),
    "new": ("-released_at", "-id"),
}


# --- serializers --------------------------------------------------------------------------------


class ArtworkSerializer(serializers.Serializer):
    kind = serializers.CharField()
    size = serializers.CharField()
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    def get_url(self, obj: Any) -> str:
        return obj.image.url


class TitleCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    rating = serializers.CharField()
    maturity_level = serializers.IntegerField()
    runtime_minutes = serializers.IntegerField(allow_null=True)
    genres = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    backdrop_url = serializers.SerializerMethodField()

    def get_genres(self, obj: Title) -> list[str]:
        return [g.name for g in obj.genres.all()]

    def get_poster_url(self, obj: Title) -> str:
        return selectors.artwork_url(obj, "poster", "md")

    def get_backdrop_url(self, obj: Title) -> str:
        return selectors.artwork_url(obj, "backdrop", "lg")


class CreditSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField(source="person.name")
    role = serializers.CharField()
    character = serializers.CharField()
    order = serializers.IntegerField()


class EpisodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    synopsis = serializers.CharField()
    runtime_minutes = serializers.IntegerField(allow_null=True)
    intro_start = serializers.IntegerField(allow_null=True)
    intro_end = serializers.IntegerField(allow_null=True)
    credits_start = serializers.IntegerField(allow_null=True)
    credits_end = serializers.IntegerField(allow_null=True)


class SeasonSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()
    episodes = EpisodeSerializer(many=True)


class TitleDetailSerializer(TitleCardSerializer):
    synopsis = serializers.CharField()
    original_language = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    external_ids = serializers.SerializerMethodField()
    artwork = ArtworkSerializer(many=True)
    credits = CreditSerializer(many=True)
    seasons = SeasonSerializer(many=True)

    def get_external_ids(self, obj: Title) -> dict[str, str]:
        return {e.source: e.value for e in obj.external_ids.all()}


# --- caching: shared bodies, ETag/304 -----------------------------------------------------------

NOT_MODIFIED = OpenApiResponse(description="Not modified: If-None-Match named the current ETag.")


def cached_read(get: Callable[..., Response]) -> Callable[..., HttpResponseBase]:
    """Serve a catalogue GET from the cache of shared bodies (catalog.caching): keyed by the
    viewer's country, maturity and language, the path with its query and the catalogue
    version, so a hit costs no query beyond the request's profile and no serialisation. Runs
    after authentication, permissions and throttling (it wraps the handler). Errors and
    non-200 answers are never cached. ETag and Last-Modified come with the body; a matching
    If-None-Match answers 304."""

    @functools.wraps(get)
    def handler(self: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        def build() -> CachedBody:
            response = get(self, request, *args, **kwargs)
            if response.status_code != 200:
                raise Uncacheable(response)
            body = request.accepted_renderer.render(  # type: ignore[union-attr]
                response.data, request.accepted_media_type, self.get_renderer_context()
            )
            newest = Title.objects.aggregate(m=Max("updated_at"))["m"]
            return cached_body(body, "application/json", last_modified=newest)

        parts = (type(self).__name__, request.get_host(), request.get_full_path())
        got = cached_fragment("api", request_viewer(request), parts, build)
        if isinstance(got, HttpResponseBase):
            return got
        return respond(request, got)

    return handler


# --- catalogue ----------------------------------------------------------------------------------


class TitleListApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class TitleListFilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)
        genre = serializers.SlugField(required=False)
        kind = serializers.ChoiceField(choices=Title.Kind.choices, required=False)
        year_from = serializers.IntegerField(required=False, min_value=1870, max_value=2200)
        year_to = serializers.IntegerField(required=False, min_value=1870, max_value=2200)
        maturity = serializers.IntegerField(required=False, min_value=0, max_value=100)
        ordering = serializers.ChoiceField(choices=sorted(ORDERINGS), required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if (
                attrs.get("year_from")
                and attrs.get("year_to")
                and attrs["year_from"] > attrs["year_to"]
            ):
                raise serializers.ValidationError({"year_to": ["Must not be before year_from."]})
            return attrs

    @extend_schema(
        parameters=[TitleListFilterSerializer, PROFILE_HEADER],
        responses={200: TitleCardSerializer(many=True), 304: NOT_MODIFIED},
        summary="Titles visible to the requesting profile (filters, search, ordering)",
    )
    @cached_read
    def get(self, request: Request) -> Response:
        data, filters = _search_query(request)
        qs = selectors.search_titles(request_viewer(request), data.get("q", ""), filters)
        if "ordering" in data:
            qs = qs.order_by(*ORDERINGS[data["ordering"]])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(TitleCardSerializer(page, many=True).data)


def _search_query(request: Request) -> tuple[dict[str, Any], selectors.SearchFilters]:
    """A title search's query parameters, validated (a 400 naming the field otherwise), and the
    filters they ask for: what the list and its facet counts both read."""
    params = TitleListApi.TitleListFilterSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return data, selectors.SearchFilters(
        genre=data.get("genre"),
        kind=data.get("kind"),
        year_from=data.get("year_from"),
        year_to=data.get("year_to"),
        max_maturity=data.get("maturity"),
    )


class TitleFacetsApi(APIView):
    class TitleFacetsOutputSerializer(serializers.Serializer):
        genres = serializers.ListField(child=serializers.DictField())
        kinds = serializers.DictField(child=serializers.IntegerField())
        decades = serializers.DictField(child=serializers.IntegerField())
        ratings = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        parameters=[TitleListApi.TitleListFilterSerializer, PROFILE_HEADER],
        responses={200: TitleFacetsOutputSerializer, 304: NOT_MODIFIED},
        summary="Facet counts (genre, kind, decade, rating) for a title search",
    )
    @cached_read
    def get(self, request: Request) -> Response:
        data, filters = _search_query(request)
        facets = selectors.search_facets(request_viewer(request), data.get("q", ""), filters)
        return Response(
            {
                "genres": [{"slug": s, "name": n, "count": c} for s, n, c in facets.genres],
                "kinds": facets.kinds,
                "decades": {str(k): v for k, v in facets.decades.items()},
                "ratings": facets.ratings,
            }
        )


class TitleDetailApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses={200: TitleDetailSerializer, 304: NOT_MODIFIED},
        summary="A title with seasons, episodes, credits and artwork",
    )
    @cached_read
    def get(self, request: Request, title_id: int) -> Response:
        title = selectors.title_detail(request_viewer(request), pk=title_id)
        return Response(TitleDetailSerializer(title).data)


class GenreListApi(APIView):
    class GenreListOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        slug = serializers.CharField()
        name = serializers.CharField()
        title_count = serializers.IntegerField()

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses={200: GenreListOutputSerializer(many=True), 304: NOT_MODIFIED},
        summary="Genres with the number of titles visible to the requesting profile",
    )
    @cached_read
    def get(self, request: Request) -> Response:
        genres = selectors.titles.genres_with_counts(request_viewer(request))
        return Response(self.GenreListOutputSerializer(genres, many=True).data)


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    birth_year = serializers.IntegerField(allow_null=True)


class PersonListApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class PersonListFilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @extend_schema(
        parameters=[PersonListFilterSerializer],
        responses={200: PersonOutputSerializer(many=True), 304: NOT_MODIFIED},
        summary="People (cast and crew)",
    )
    @cached_read
    def get(self, request: Request) -> Response:
        params = self.PersonListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.titles.people(params.validated_data.get("q", "")), request, view=self
        )
        return paginator.get_paginated_response(PersonOutputSerializer(page, many=True).data)


class PersonDetailApi(APIView):
    class PersonDetailOutputSerializer(PersonOutputSerializer):
        bio = serializers.CharField()
        credits = serializers.SerializerMethodField()

        def get_credits(self, obj: Any) -> list[dict[str, Any]]:
            return [
                {
                    "title_id": c.title_id,
                    "title": c.title.name,
                    "slug": c.title.slug,
                    "year": c.title.year,
                    "role": c.role,
                    "character": c.character,
                }
                for c in self.context["credits"]
            ]

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses={200: PersonDetailOutputSerializer, 304: NOT_MODIFIED},
        summary="A person and their credits on titles visible to the requesting profile",
    )
    @cached_read
    def get(self, request: Request, person_id: int) -> Response:
        person, credits = selectors.titles.person_detail(request_viewer(request), pk=person_id)
        return Response(
            self.PersonDetailOutputSerializer(person, context={"credits": credits}).data
        )
