"""REST endpoints for programs that sign up and sign in: sign-up, verification, password
resets, and a token for a password."""

from __future__ import annotations

from django.utils.translation import get_language, gettext, gettext_noop
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.apis.tokens import TokenCreatedSerializer, created_token
from audit.services import record
from streamsite.api.fields import timestamp
from streamsite.api.serializers import InputSerializer
from streamsite.api.throttling import AnonRateThrottle
from streamsite.client_address import client_address
from streamsite.errors import PermissionDenied

DETAIL = inline_serializer("Detail", fields={"detail": serializers.CharField()})
ACCEPTED_SIGNUP = gettext_noop(
    "If this address can be registered, we have sent a link to it. Follow it to confirm your "
    "address, then sign in."
)
ACCEPTED_RESET = gettext_noop(
    "If an account uses this address, we have sent it a link to set a new password."
)


class SignupApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    class SignupInputSerializer(InputSerializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=256, style={"input_type": "password"})
        profile_name = serializers.CharField(max_length=50, required=False, allow_blank=True)

    @extend_schema(
        request=SignupInputSerializer,
        responses={202: DETAIL},
        summary="Sign up",
        description="Same answer whether or not the address is registered (no enumeration).",
        examples=[
            OpenApiExample(
                "Sign up", value={"email": "ana@example.com", "password": "a long passphrase"}
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.signup(**data.validated_data, language=get_language())
        return Response({"detail": gettext(ACCEPTED_SIGNUP)}, status=status.HTTP_202_ACCEPTED)


class VerifyEmailApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class VerifyEmailInputSerializer(InputSerializer):
        token = serializers.CharField(max_length=500, help_text="The token in the emailed link.")

    @extend_schema(
        request=VerifyEmailInputSerializer, responses={200: DETAIL}, summary="Confirm an address"
    )
    def post(self, request: Request) -> Response:
        data = self.VerifyEmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verify(token=data.validated_data["token"])
        return Response({"detail": "Your address is confirmed."})


class PasswordResetApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    class PasswordResetInputSerializer(InputSerializer):
        email = serializers.CharField(max_length=254)

    @extend_schema(
        request=PasswordResetInputSerializer,
        responses={202: DETAIL},
        summary="Ask for a password reset link",
        description="Same answer whether or not the address is registered.",
    )
    def post(self, request: Request) -> Response:
        data = self.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": gettext(ACCEPTED_RESET)}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class PasswordResetConfirmInputSerializer(InputSerializer):
        uid = serializers.CharField(max_length=64)
        token = serializers.CharField(max_length=100)
        password = serializers.CharField(max_length=256)

    @extend_schema(
        request=PasswordResetConfirmInputSerializer,
        responses={200: DETAIL},
        summary="Set a new password",
    )
    def post(self, request: Request) -> Response:
        data = self.PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(
            uidb64=data.validated_data["uid"],
            token=data.validated_data["token"],
            new_password=data.validated_data["password"],
        )
        return Response({"detail": "Your password is changed. Sign in with it."})


class LoginTokenApi(APIView):
    """Exchange email + password (+ a 2FA code) for a new API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class LoginTokenInputSerializer(InputSerializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=256)
        code = serializers.CharField(
            max_length=32, required=False, help_text="TOTP or recovery code, when 2FA is on."
        )
        name = serializers.CharField(max_length=100, help_text="A name for the new token.")
        expires_at = timestamp(required=False, allow_null=True)

    @extend_schema(
        request=LoginTokenInputSerializer,
        responses={201: TokenCreatedSerializer},
        summary="Sign in and create an API token",
        description=(
            "Throttled per account and per IP: after repeated failures the answer is 429 with "
            "`retry_after` until the cool-off ends. Wrong email and wrong password answer alike."
        ),
        examples=[
            OpenApiExample(
                "Sign in",
                value={"email": "ana@example.com", "password": "a long passphrase", "name": "TV"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.LoginTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = services.login_check(
            request=request._request,
            email=values["email"],
            password=values["password"],
            ip=client_address(request._request),
        )
        if selectors.two_factor_enabled(user):
            if not values.get("code"):
                raise PermissionDenied(
                    gettext("This account uses two-factor authentication: send `code` too."),
                    code="two_factor_required",
                )
            services.totp_verify(user=user, code=values["code"])
        token, plaintext = services.api_token_create(
            user=user, name=values["name"], expires_at=values.get("expires_at")
        )
        record(action="auth.sign_in", obj=user, actor=user, after={"via": "api_token"})
        return created_token(token, plaintext)
