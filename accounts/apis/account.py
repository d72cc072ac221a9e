"""REST endpoints of the account itself: who I am, and the export."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.permissions import NotKidsProfile, ensure_not_kids
from streamsite.api.auth import request_user
from streamsite.api.serializers import InputSerializer


class MeApi(APIView):
    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        country = serializers.CharField(source="effective_country")
        is_staff = serializers.BooleanField()
        date_joined = serializers.DateTimeField()
        email_verified_at = serializers.DateTimeField(allow_null=True)

    class MeDeleteSerializer(InputSerializer):
        password = serializers.CharField(max_length=256)

    @extend_schema(responses=MeOutputSerializer, summary="The signed-in account")
    def get(self, request: Request) -> Response:
        return Response(self.MeOutputSerializer(request.user).data)

    @extend_schema(
        request=MeDeleteSerializer,
        responses={
            200: inline_serializer("AccountExport", fields={"account": serializers.DictField()})
        },
        summary="Delete the account (returns its JSON export, also emailed)",
    )
    def delete(self, request: Request) -> Response:
        ensure_not_kids(request)
        data = self.MeDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.account_delete(
            user=request_user(request), password=data.validated_data["password"]
        )
        return Response(export)


class ExportApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    @extend_schema(
        responses={200: inline_serializer("Export", fields={"account": serializers.DictField()})},
        summary="Download everything the account holds, as JSON",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.account_export(request_user(request)))
