"""REST API of recommendations: the current profile's rows, more like this, explanations,
onboarding. Thin: the profile comes from `X-Profile-Id` (accounts), reads from rows.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Profile
from accounts.selectors import request_profile
from catalog.models import Title
from catalog.selectors.titles import artwork_url, titles_for_profile
from recommendations import activity, rows, rows_cache
from streamsite.api.serializers import InputSerializer
from streamsite.conditional import respond
from streamsite.errors import NotFound

NOT_MODIFIED = OpenApiResponse(description="Not modified: If-None-Match named the current ETag.")

PROFILE_HEADER = OpenApiParameter(
    "X-Profile-Id",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="The profile acting (required unless a profile was chosen in the browser).",
)


class CardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    poster_url = serializers.CharField()
    explanation = serializers.CharField()


class RowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    titles = CardSerializer(many=True)


class RowsSerializer(serializers.Serializer):
    rows = RowSerializer(many=True)


class MoreLikeThisSerializer(serializers.Serializer):
    title_id = serializers.IntegerField()
    results = CardSerializer(many=True)


class ExplanationSerializer(serializers.Serializer):
    title_id = serializers.IntegerField()
    text = serializers.CharField()
    because_title_ids = serializers.ListField(child=serializers.IntegerField())


class OnboardingInputSerializer(InputSerializer):
    title_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=200)


class OnboardingCandidatesSerializer(serializers.Serializer):
    min_picks = serializers.IntegerField()
    titles = CardSerializer(many=True)


def _titles(profile: Profile, ids: list[int]) -> dict[int, Title]:
    """The titles behind ids that the profile may see now, with their poster URL: two queries
    whatever the number of ids. Rows may be cached for hours, so a licensing window that closed
    (or a maturity lowered) since they were computed is applied here."""
    if not ids:
        return {}
    # only the card's columns (the search document and vector are large), posters as values
    visible = titles_for_profile(profile).filter(pk__in=ids).only("id", "slug", "name")
    found = {t.pk: t for t in visible}
    posters = rows.poster_urls(list(found))
    for pk, title in found.items():
        title.poster = posters.get(pk, "")  # type: ignore[attr-defined]
    return found


def _card(title: Title, why: str) -> dict[str, Any]:
    poster = getattr(title, "poster", None)
    return {
        "id": title.pk,
        "slug": title.slug,
        "name": title.name,
        "poster_url": artwork_url(title, "poster", "md") if poster is None else poster,
        "explanation": why,
    }


def _visible_title(profile: Profile, title_id: int) -> None:
    if not titles_for_profile(profile).filter(pk=title_id).exists():
        raise NotFound(gettext("No such title."))


def rows_payload(profile: Profile) -> dict[str, Any]:
    got = rows.rows_for_profile(profile)
    titles = _titles(profile, sorted({t for r in got for t in r.title_ids}))
    out = []
    for r in got:
        cards = [_card(titles[t], r.explanation.get(t, "")) for t in r.title_ids if t in titles]
        if cards:  # a row whose every title went away is dropped, as on the home page
            out.append({"key": r.key, "label": r.label, "titles": cards})
    return {"rows": out}


class RowsApi(APIView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication reads the shared counters: the rows keys ride along.
        rows_cache.prefetch(request.META.get("HTTP_X_PROFILE_ID"))
        super().initial(request, *args, **kwargs)

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses={200: RowsSerializer, 304: NOT_MODIFIED},
        summary="The current profile's personalised home rows",
    )
    def get(self, request: Request) -> HttpResponse:
        """From one cache round trip when nothing it was built from changed (rows_cache)."""
        profile = request_profile(request)
        assert profile is not None

        def render(profile: Profile) -> bytes:
            data = RowsSerializer(rows_payload(profile)).data
            return request.accepted_renderer.render(  # type: ignore[union-attr,no-any-return]
                data, request.accepted_media_type, self.get_renderer_context()
            )

        return respond(request, rows_cache.rows_body(profile, render))


class MoreLikeThisApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=MoreLikeThisSerializer,
        summary="Titles like this one that the current profile may watch",
    )
    def get(self, request: Request, title_id: int) -> Response:
        profile = request_profile(request)
        assert profile is not None
        _visible_title(profile, title_id)
        ids = rows.more_like_this(profile=profile, title_id=title_id)
        titles = _titles(profile, ids)
        results = [_card(titles[t], "More like this") for t in ids if t in titles]
        return Response(MoreLikeThisSerializer({"title_id": title_id, "results": results}).data)


class ExplanationApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=ExplanationSerializer,
        summary="Why this title would be suggested to the current profile",
    )
    def get(self, request: Request, title_id: int) -> Response:
        profile = request_profile(request)
        assert profile is not None
        _visible_title(profile, title_id)
        found = rows.explain_for_profile(profile=profile, title_id=title_id)
        return Response(ExplanationSerializer(found).data)


class OnboardingApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=OnboardingCandidatesSerializer,
        summary="Titles a new profile can pick from (popular, available to it)",
    )
    def get(self, request: Request) -> Response:
        profile = request_profile(request)
        assert profile is not None
        titles = rows.onboarding_candidates(profile)
        data = {
            "min_picks": activity.ONBOARDING_MIN,
            "titles": [_card(t, "") for t in titles],
        }
        return Response(OnboardingCandidatesSerializer(data).data)

    @extend_schema(
        parameters=[PROFILE_HEADER],
        request=OnboardingInputSerializer,
        responses={201: RowsSerializer},
        summary="Like 3 or more titles; returns the profile's new rows",
    )
    def post(self, request: Request) -> Response:
        profile = request_profile(request)
        assert profile is not None
        data = OnboardingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity.onboarding_complete(profile=profile, title_ids=data.validated_data["title_ids"])
        return Response(RowsSerializer(rows_payload(profile)).data, status=status.HTTP_201_CREATED)
