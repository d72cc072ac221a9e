"""REST endpoints for the signed-in account and its API tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import ApiToken
from streamsite.api.auth import request_user


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        country = serializers.CharField(source="effective_country")
        is_staff = serializers.BooleanField()
        date_joined = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer, summary="The signed-in account")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


class TokenListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

    class CreatedSerializer(TokenOutputSerializer):
        token = serializers.CharField(help_text="The secret. Shown once; store it now.")

        class Meta(TokenOutputSerializer.Meta):
            fields = [*TokenOutputSerializer.Meta.fields, "token"]

    @extend_schema(responses=TokenOutputSerializer(many=True), summary="List your API tokens")
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.for_user(request_user(request))
        return Response(TokenOutputSerializer(tokens, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: CreatedSerializer}, summary="Create an API token"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = services.api_token_create(
            user=request_user(request), **data.validated_data
        )
        token.token = plaintext  # type: ignore[attr-defined]
        return Response(self.CreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: int) -> Response:
        services.api_token_revoke(user=request_user(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
