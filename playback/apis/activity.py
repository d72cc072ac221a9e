"""REST API of a profile's viewing activity: My List, ratings, progress, history. Thin: input ->
selector/service -> output; every title is looked up among those the profile may see."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Profile
from accounts.selectors import request_profile
from catalog.apis import PROFILE_HEADER
from catalog.models import Title
from catalog.selectors import titles_for_profile
from playback import selectors
from playback.services import activity
from streamsite.api.pagination import PageNumberPagination
from streamsite.api.serializers import InputSerializer
from streamsite.errors import NotFound


def _profile(request: Request) -> Profile:
    profile = request_profile(request, required=True)
    assert profile is not None
    return profile


def _visible_title(profile: Profile, title_id: int) -> Title:
    title = titles_for_profile(profile).filter(pk=title_id).first()
    if title is None:
        raise NotFound(gettext("No such title."))
    return title


class TitleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class MyListApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class MyListInputSerializer(InputSerializer):
        title_id = serializers.IntegerField(min_value=1)

    class MyListOutputSerializer(serializers.Serializer):
        title = TitleRefSerializer()
        added_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=MyListOutputSerializer(many=True),
        summary="My List of the requesting profile",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.my_list(_profile(request)), request, self)
        return paginator.get_paginated_response(self.MyListOutputSerializer(page, many=True).data)

    @extend_schema(
        parameters=[PROFILE_HEADER],
        request=MyListInputSerializer,
        responses={201: MyListOutputSerializer},
        summary="Add a title to My List (adding twice is harmless)",
    )
    def post(self, request: Request) -> Response:
        data = self.MyListInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = _profile(request)
        title = _visible_title(profile, data.validated_data["title_id"])
        entry = activity.my_list_add(profile=profile, title=title)
        return Response(self.MyListOutputSerializer(entry).data, status=status.HTTP_201_CREATED)


class MyListItemApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        request=None,
        responses={204: None},
        summary="Remove a title from My List",
    )
    def delete(self, request: Request, title_id: int) -> Response:
        profile = _profile(request)
        title = _visible_title(profile, title_id)
        if not activity.my_list_remove(profile=profile, title=title):
            raise NotFound(gettext("That title is not in My List."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RatingOutputSerializer(serializers.Serializer):
    title = TitleRefSerializer()
    value = serializers.IntegerField()
    rated_at = serializers.DateTimeField()


class RatingListApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=RatingOutputSerializer(many=True),
        summary="Thumbs ratings of the requesting profile",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.ratings(_profile(request)), request, self)
        return paginator.get_paginated_response(RatingOutputSerializer(page, many=True).data)


class RatingItemApi(APIView):
    class RatingItemInputSerializer(InputSerializer):
        value = serializers.ChoiceField(choices=[1, -1])

    @extend_schema(
        parameters=[PROFILE_HEADER],
        request=RatingItemInputSerializer,
        responses=RatingOutputSerializer,
        summary="Rate a title: 1 (thumbs up) or -1 (thumbs down)",
    )
    def put(self, request: Request, title_id: int) -> Response:
        data = self.RatingItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = _profile(request)
        title = _visible_title(profile, title_id)
        rating = activity.rate(profile=profile, title=title, value=data.validated_data["value"])
        return Response(RatingOutputSerializer(rating).data)

    @extend_schema(
        parameters=[PROFILE_HEADER], request=None, responses={204: None}, summary="Clear a rating"
    )
    def delete(self, request: Request, title_id: int) -> Response:
        profile = _profile(request)
        title = _visible_title(profile, title_id)
        if not activity.rating_clear(profile=profile, title=title):
            raise NotFound(gettext("That title has no rating from this profile."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProgressApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class ProgressFilterSerializer(serializers.Serializer):
        title_id = serializers.IntegerField(required=False, min_value=1)

    class ProgressOutputSerializer(serializers.Serializer):
        title = TitleRefSerializer()
        episode_id = serializers.IntegerField(allow_null=True)
        position_seconds = serializers.IntegerField()
        duration_seconds = serializers.IntegerField()
        completed = serializers.BooleanField()
        last_event_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[ProgressFilterSerializer, PROFILE_HEADER],
        responses=ProgressOutputSerializer(many=True),
        summary="Playback progress of the requesting profile, most recent first",
    )
    def get(self, request: Request) -> Response:
        params = self.ProgressFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = selectors.progress(_profile(request), title_id=params.validated_data.get("title_id"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, self)
        return paginator.get_paginated_response(self.ProgressOutputSerializer(page, many=True).data)


class HistoryApi(APIView):
    pagination_class = PageNumberPagination  # the schema documents its envelope

    class HistoryOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = TitleRefSerializer()
        episode_id = serializers.IntegerField(allow_null=True)
        event_type = serializers.CharField()
        position_seconds = serializers.IntegerField()
        duration_seconds = serializers.IntegerField()
        occurred_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[PROFILE_HEADER],
        responses=HistoryOutputSerializer(many=True),
        summary="Viewing history of the requesting profile, newest first",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.history(_profile(request)), request, self)
        return paginator.get_paginated_response(self.HistoryOutputSerializer(page, many=True).data)


class HistoryItemApi(APIView):
    @extend_schema(
        parameters=[PROFILE_HEADER],
        request=None,
        responses={204: None},
        summary="Remove a title from the viewing history (events and progress)",
    )
    def delete(self, request: Request, title_id: int) -> Response:
        profile = _profile(request)
        title = _visible_title(profile, title_id)
        if not activity.history_delete(profile=profile, title=title):
            raise NotFound(gettext("That title is not in the viewing history."))
        return Response(status=status.HTTP_204_NO_CONTENT)
