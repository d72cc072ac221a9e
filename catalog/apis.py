"""REST API of the catalogue. Thin: input -> selector/service
-> output. Every read is scoped to the requesting viewer (profile, else account) region/maturity."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Max
from django.http import HttpResponseNotModified
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors
from catalog.models import Title
from catalog.selectors.viewer import request_viewer
from streamsite.api.pagination import PageNumberPagination

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


# --- caching headers ----------------------------------------------------------------------------


class CatalogCachingMixin:
    """ETag (a digest of the body) and Last-Modified (newest title change) on catalogue reads;
    If-None-Match answers 304. Private: the body depends on the viewer's region and maturity."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kw: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kw)  # type: ignore[misc]
        if request.method != "GET" or response.status_code != 200:
            return response
        response.render()
        etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:32])
        newest = Title.objects.aggregate(m=Max("updated_at"))["m"]
        response["ETag"] = etag
        if newest is not None:
            response["Last-Modified"] = http_date(newest.timestamp())
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Authorization, Cookie, X-Profile-Id"
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            not_modified = HttpResponseNotModified()
            for header in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
                if header in response:
                    not_modified[header] = response[header]
            return not_modified
        return response


# --- catalogue ----------------------------------------------------------------------------------


class TitleListApi(CatalogCachingMixin, APIView):
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
        responses=TitleCardSerializer(many=True),
        summary="Titles visible to the requesting profile (filters, search, ordering)",
    )
    def get(self, request: Request) -> Response:
        params = self.TitleListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = selectors.SearchFilters(
            genre=data.get("genre"),
            kind=data.get("kind"),
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
            max_maturity=data.get("maturity"),
        )
        qs = selectors.search_titles(request_viewer(request), data.get("q", ""), filters)
        if "ordering" in data:
            qs = qs.order_by(*ORDERINGS[data["ordering"]])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(TitleCardSerializer(page, many=True).data)


class TitleFacetsApi(CatalogCachingMixin, APIView):
    class TitleFacetsOutputSerializer(serializers.Serializer):
        genres = serializers.ListField(child=serializers.DictField())
        kinds = serializers.DictField(child=serializers.IntegerField())
        decades = serializers.DictField(child=serializers.IntegerField())
        ratings = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        parameters=[TitleListApi.TitleListFilterSerializer, PROFILE_HEADER],
        responses=TitleFacetsOutputSerializer,
        summary="Facet counts (genre, kind, decade, rating) for a title search",
    )
    def get(self, request: Request) -> Response:
        params = TitleListApi.TitleListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = selectors.SearchFilters(
            genre=data.get("genre"),
            kind=data.get("kind"),
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
            max_maturity=data.get("maturity"),
        )
        facets = selectors.search_facets(request_viewer(request), data.get("q", ""), filters)
        return Response(
            {
                "genres": [{"slug": s, "name": n, "count": c} for s, n, c in facets.genres],
                "kinds": facets.kinds,
                "decades": {str(k): v for k, v in facets.decades.items()},
                "ratings": facets.ratings,
            }
        )


class TitleDetailApi(CatalogCachingMixin, APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=TitleDetailSerializer,
        summary="A title with seasons, episodes, credits and artwork",
    )
    def get(self, request: Request, title_id: int) -> Response:
        title = selectors.title_detail(request_viewer(request), pk=title_id)
        return Response(TitleDetailSerializer(title).data)


class GenreListApi(CatalogCachingMixin, APIView):
    class GenreListOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        slug = serializers.CharField()
        name = serializers.CharField()
        title_count = serializers.IntegerField()

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=GenreListOutputSerializer(many=True),
        summary="Genres with the number of titles visible to the requesting profile",
    )
    def get(self, request: Request) -> Response:
        genres = selectors.titles.genres_with_counts(request_viewer(request))
        return Response(self.GenreListOutputSerializer(genres, many=True).data)


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    birth_year = serializers.IntegerField(allow_null=True)


class PersonListApi(CatalogCachingMixin, APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class PersonListFilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @extend_schema(
        parameters=[PersonListFilterSerializer],
        responses=PersonOutputSerializer(many=True),
        summary="People (cast and crew)",
    )
    def get(self, request: Request) -> Response:
        params = self.PersonListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.titles.people(params.validated_data.get("q", "")), request, view=self
        )
        return paginator.get_paginated_response(PersonOutputSerializer(page, many=True).data)


class PersonDetailApi(CatalogCachingMixin, APIView):
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
        responses=PersonDetailOutputSerializer,
        summary="A person and their credits on titles visible to the requesting profile",
    )
    def get(self, request: Request, person_id: int) -> Response:
        person, credits = selectors.titles.person_detail(request_viewer(request), pk=person_id)
        return Response(
            self.PersonDetailOutputSerializer(person, context={"credits": credits}).data
        )
