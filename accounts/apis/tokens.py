"""REST endpoints of API tokens: list, create, revoke (and the shape a new token is shown in)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken
from accounts.permissions import PROFILE_HEADER_PARAMETER, NotKidsProfile
from streamsite.api.auth import request_user
from streamsite.api.fields import timestamp
from streamsite.api.serializers import InputSerializer


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


class TokenCreatedSerializer(TokenOutputSerializer):
    token = serializers.CharField(help_text="The secret. Shown once; store it now.")

    class Meta(TokenOutputSerializer.Meta):
        fields = [*TokenOutputSerializer.Meta.fields, "token"]


def created_token(token: ApiToken, plaintext: str) -> Response:
    token.token = plaintext  # type: ignore[attr-defined]
    return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenListCreateApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    class TokenListCreateInputSerializer(InputSerializer):
        name = serializers.CharField(max_length=100)
        expires_at = timestamp(required=False, allow_null=True)

    @extend_schema(
        responses=TokenOutputSerializer(many=True),
        summary="List your API tokens",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        tokens = selectors.tokens_for(request_user(request))
        return Response(TokenOutputSerializer(tokens, many=True).data)

    @extend_schema(
        request=TokenListCreateInputSerializer,
        responses={201: TokenCreatedSerializer},
        summary="Create an API token",
        parameters=[PROFILE_HEADER_PARAMETER],
        examples=[
            OpenApiExample(
                "Token", value={"name": "Living-room TV", "expires_at": "2027-01-01T00:00:00Z"}
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.TokenListCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = services.api_token_create(
            user=request_user(request), **data.validated_data
        )
        return created_token(token, plaintext)


class TokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke an API token",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def delete(self, request: Request, token_id: int) -> Response:
        services.api_token_revoke(user=request_user(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
