"""REST endpoints: sign-up and sign-in for programs, the account, profiles, sessions, tokens."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import get_language, gettext, gettext_noop
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import avatars, selectors, services
from accounts.models import ApiToken, Maturity, Profile
from accounts.permissions import PROFILE_HEADER_PARAMETER, NotKidsProfile, ensure_not_kids
from audit.services import record
from streamsite.api.auth import request_user
from streamsite.api.fields import timestamp
from streamsite.api.serializers import InputSerializer
from streamsite.api.throttling import AnonRateThrottle
from streamsite.client_address import client_address
from streamsite.errors import NotFound, PermissionDenied

DETAIL = inline_serializer("Detail", fields={"detail": serializers.CharField()})
ACCEPTED_SIGNUP = gettext_noop(
    "If this address can be registered, we have sent a link to it. Follow it to confirm your "
    "address, then sign in."
)
ACCEPTED_RESET = gettext_noop(
    "If an account uses this address, we have sent it a link to set a new password."
)


# --- Sign-up and sign-in for API clients ----------------------------------------------------


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


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


class TokenCreatedSerializer(TokenOutputSerializer):
    token = serializers.CharField(help_text="The secret. Shown once; store it now.")

    class Meta(TokenOutputSerializer.Meta):
        fields = [*TokenOutputSerializer.Meta.fields, "token"]


def _created_token(token: ApiToken, plaintext: str) -> Response:
    token.token = plaintext  # type: ignore[attr-defined]
    return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


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
        return _created_token(token, plaintext)


# --- The account ----------------------------------------------------------------------------


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


# --- Profiles -------------------------------------------------------------------------------


class ProfileOutputSerializer(serializers.ModelSerializer):
    maturity_label = serializers.CharField(source="get_maturity_display")
    has_pin = serializers.BooleanField()
    avatar_url = serializers.SerializerMethodField()

    class Meta:
        model = Profile
        fields = [
            "id",
            "name",
            "maturity",
            "maturity_label",
            "is_kids",
            "language",
            "avatar",
            "avatar_url",
            "has_pin",
            "created_at",
        ]

    def get_avatar_url(self, profile: Profile) -> str:
        if profile.avatar_image:
            return profile.avatar_image.url
        return reverse("accounts:avatar", args=[profile.avatar or "ember"])


def _own_profile(request: Request, profile_id: int) -> Profile:
    profile = selectors.profiles_for(request_user(request)).filter(pk=profile_id).first()
    if profile is None:
        raise NotFound(gettext("No such profile."))
    return profile


def _unlocked_profile(request: Request, profile_id: int) -> Profile:
    """An own profile that this request may change: PIN-locked ones must be unlocked."""
    profile = _own_profile(request, profile_id)
    if not selectors.profile_is_unlocked(request, profile):
        raise PermissionDenied(
            gettext("This profile is locked with a PIN: verify it first."), code="profile_locked"
        )
    return profile


PROFILE_EXAMPLE = OpenApiExample(
    "A kids profile",
    value={"name": "Mia", "is_kids": True, "language": "en", "avatar": "sun"},
    request_only=True,
)


class ProfileListCreateApi(APIView):
    class ProfileListCreateInputSerializer(InputSerializer):
        name = serializers.CharField(max_length=50)
        maturity = serializers.ChoiceField(choices=Maturity.choices, required=False)
        is_kids = serializers.BooleanField(required=False, default=False)
        language = serializers.CharField(max_length=16, required=False, default="en")
        avatar = serializers.ChoiceField(
            choices=[*avatars.BUILTIN], required=False, allow_blank=True
        )

    @extend_schema(
        responses=ProfileOutputSerializer(many=True),
        summary="List the account's profiles",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        profiles = selectors.profiles_for(request_user(request))
        return Response(ProfileOutputSerializer(profiles, many=True).data)

    @extend_schema(
        request=ProfileListCreateInputSerializer,
        responses={201: ProfileOutputSerializer},
        summary="Create a profile",
        description="Up to the account's profile limit (409 beyond it). Not from a kids profile.",
        parameters=[PROFILE_HEADER_PARAMETER],
        examples=[PROFILE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        ensure_not_kids(request)
        data = self.ProfileListCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        values.setdefault("maturity", Maturity.ADULTS)
        profile = services.profile_create(account=request_user(request), **values)
        return Response(ProfileOutputSerializer(profile).data, status=status.HTTP_201_CREATED)


class ProfileDetailApi(APIView):
    class ProfileDetailInputSerializer(InputSerializer):
        name = serializers.CharField(max_length=50, required=False)
        maturity = serializers.ChoiceField(choices=Maturity.choices, required=False)
        is_kids = serializers.BooleanField(required=False)
        language = serializers.CharField(max_length=16, required=False)
        avatar = serializers.ChoiceField(choices=[*avatars.BUILTIN], required=False)

    @extend_schema(responses=ProfileOutputSerializer, summary="One profile")
    def get(self, request: Request, profile_id: int) -> Response:
        return Response(ProfileOutputSerializer(_own_profile(request, profile_id)).data)

    @extend_schema(
        request=ProfileDetailInputSerializer,
        responses=ProfileOutputSerializer,
        summary="Change a profile",
        description="Not from a kids profile; a PIN-locked profile must be unlocked first.",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def patch(self, request: Request, profile_id: int) -> Response:
        ensure_not_kids(request)
        profile = _unlocked_profile(request, profile_id)
        data = self.ProfileDetailInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(profile=profile, **data.validated_data)
        return Response(ProfileOutputSerializer(profile).data)

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Delete a profile",
        description="409 for the account's last profile.",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def delete(self, request: Request, profile_id: int) -> Response:
        ensure_not_kids(request)
        services.profile_delete(profile=_unlocked_profile(request, profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileAvatarApi(APIView):
    class ProfileAvatarInputSerializer(InputSerializer):
        image = serializers.FileField(help_text="PNG, JPEG, GIF or WebP up to 5 MB.")

    @extend_schema(
        request={"multipart/form-data": ProfileAvatarInputSerializer},
        responses=ProfileOutputSerializer,
        summary="Upload a profile picture (cropped and resized to 256x256 PNG)",
        parameters=[PROFILE_HEADER_PARAMETER],
    )
    def post(self, request: Request, profile_id: int) -> Response:
        ensure_not_kids(request)
        profile = _unlocked_profile(request, profile_id)
        data = self.ProfileAvatarInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_avatar_upload(
            profile=profile, upload=data.validated_data["image"]
        )
        return Response(ProfileOutputSerializer(profile).data)


class ProfilePinApi(APIView):
    class ProfilePinInputSerializer(InputSerializer):
        password = serializers.CharField(max_length=256, help_text="The account password.")
        pin = serializers.RegexField(
            r"^\d{4}$", allow_null=True, help_text="4 digits, or null to remove the PIN."
        )

    @extend_schema(
        request=ProfilePinInputSerializer,
        responses=ProfileOutputSerializer,
        summary="Set or remove a profile's PIN",
        parameters=[PROFILE_HEADER_PARAMETER],
        examples=[OpenApiExample("Lock", value={"password": "…", "pin": "1234"})],
    )
    def put(self, request: Request, profile_id: int) -> Response:
        ensure_not_kids(request)
        profile = _own_profile(request, profile_id)
        data = self.ProfilePinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_pin_set(
            profile=profile,
            account=request_user(request),
            password=data.validated_data["password"],
            pin=data.validated_data["pin"],
        )
        return Response(ProfileOutputSerializer(profile).data)


class PinSerializer(InputSerializer):
    pin = serializers.CharField(max_length=8)


class ProfileVerifyPinApi(APIView):
    @extend_schema(
        request=PinSerializer,
        responses={
            200: inline_serializer(
                "Unlocked", fields={"unlocked_until": serializers.DateTimeField(allow_null=True)}
            )
        },
        summary="Verify a profile's PIN (unlocks it for this API token)",
        description=(
            "With an API token, records an unlock of this profile for that token until "
            "`unlocked_until` (ACCOUNTS_PIN_UNLOCK_SECONDS, 12 hours by default); then send "
            "`X-Profile-Id`. With a browser session, use /switch instead. Five wrong PINs lock "
            "the profile's PIN for a cool-off (429)."
        ),
        examples=[OpenApiExample("PIN", value={"pin": "1234"}, request_only=True)],
    )
    def post(self, request: Request, profile_id: int) -> Response:
        profile = _own_profile(request, profile_id)
        data = PinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pin = data.validated_data["pin"]
        if not isinstance(request.auth, ApiToken):  # a browser session: switch to it
            services.profile_switch(request=request, profile=profile, pin=pin)
            return Response({"unlocked_until": None})
        until = services.profile_pin_verify(profile=profile, pin=pin, api_token=request.auth)
        return Response({"unlocked_until": until})


class ProfileSwitchApi(APIView):
    class ProfileSwitchInputSerializer(InputSerializer):
        pin = serializers.CharField(max_length=8, required=False)

    @extend_schema(
        request=ProfileSwitchInputSerializer,
        responses=ProfileOutputSerializer,
        summary="Switch to a profile",
        description=(
            "Browser sessions: makes it the session's current profile. API tokens: checks the "
            "profile (and its PIN, recording the unlock) so that it can be named in "
            "`X-Profile-Id`."
        ),
    )
    def post(self, request: Request, profile_id: int) -> Response:
        profile = _own_profile(request, profile_id)
        data = self.ProfileSwitchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pin = data.validated_data.get("pin")
        if isinstance(request.auth, ApiToken):
            if profile.has_pin and not selectors.profile_is_unlocked(request, profile):
                if pin is None:
                    raise PermissionDenied(
                        gettext("This profile is locked: send its PIN."), code="pin_required"
                    )
                services.profile_pin_verify(profile=profile, pin=pin, api_token=request.auth)
        else:
            services.profile_switch(request=request, profile=profile, pin=pin)
        return Response(ProfileOutputSerializer(profile).data)


# --- Devices and sessions -------------------------------------------------------------------


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


# --- API tokens -----------------------------------------------------------------------------


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
        return _created_token(token, plaintext)


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
