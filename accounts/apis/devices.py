"""REST endpoints of the browser sessions signed in to the account: list and revoke."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken
from accounts.permissions import PROFILE_HEADER_PARAMETER, NotKidsProfile
from streamsite.api.auth import request_user


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    device_name = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    location = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, row: Any) -> bool:
        return bool(row.session_key == self.context.get("session_key"))


def _session_key(request: Request) -> str | None:
    if isinstance(request.auth, ApiToken):
        return None
    session = getattr(request, "session", None)
    return session.session_key if session is not None else None


class SessionListApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    @extend_schema(
        responses=SessionOutputSerializer(many=True),
        summary="Signed-in browser sessions (devices)",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        rows = selectors.sessions_for(request_user(request))
        context = {"session_key": _session_key(request)}
        return Response(SessionOutputSerializer(rows, many=True, context=context).data)


class SessionRevokeApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Sign out one session",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def delete(self, request: Request, session_id: int) -> Response:
        services.session_revoke(user=request_user(request), session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionRevokeAllApi(APIView):
    permission_classes = [IsAuthenticated, NotKidsProfile]

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("Revoked", fields={"revoked": serializers.IntegerField()})
        },
        summary="Sign out every other session",
        description="From a browser session, that session stays signed in.",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def post(self, request: Request) -> Response:
        from django.contrib.auth import update_session_auth_hash

        user = request_user(request)
        keep = _session_key(request)
        revoked = services.sessions_revoke_all(user=user, keep_session_key=keep)
        if keep:
            update_session_auth_hash(request._request, user)
            new_key = request._request.session.session_key
            if new_key:
                services.session_rekey(old_key=keep, new_key=new_key)
        return Response({"revoked": revoked})
