"""REST endpoints of profiles: list, create, edit, avatars, PINs, switching."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import avatars, selectors, services
from accounts.models import ApiToken, Maturity, Profile
from accounts.permissions import PROFILE_HEADER_PARAMETER, ensure_not_kids
from streamsite.api.auth import request_user
from streamsite.api.serializers import InputSerializer
from streamsite.errors import NotFound, PermissionDenied


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
