"""Profile and kids rules for other apps' API views and pages.

API: `permission_classes = [IsAuthenticated, HasProfile]` and `PROFILE_HEADER_PARAMETER` in
`extend_schema(parameters=[...])`. Pages: `@profile_required` or `ProfileRequiredMixin`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import BasePermission

from accounts import selectors
from streamsite.errors import PermissionDenied

PROFILE_HEADER_PARAMETER = OpenApiParameter(
    name=selectors.PROFILE_HEADER,
    type=int,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "The viewer profile this request acts as (an id from GET /api/v1/profiles). "
        "A PIN-locked profile must first be unlocked with POST /api/v1/profiles/{id}/verify-pin "
        "using the same API token. Browser sessions may omit it: the profile chosen in the "
        "picker is used."
    ),
)


class HasProfile(BasePermission):
    """Requires a usable viewer profile; the error says how to name one (403)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        selectors.request_profile(request, required=True)
        return True


class NotKidsProfile(BasePermission):
    """Refuses account and profile management while acting as a kids profile."""

    def has_permission(self, request: Any, view: Any) -> bool:
        ensure_not_kids(request)
        return True


def ensure_not_kids(request: Any) -> None:
    profile = selectors.request_profile(request, required=False)
    if profile is not None and profile.is_kids:
        raise PermissionDenied(
            gettext("A kids profile cannot manage profiles or the account."), code="kids_profile"
        )


def profile_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page decorator: sign-in first, then a chosen profile (else the "Who's watching?" picker).
    The view finds it with `accounts.selectors.request_profile(request)`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if selectors.request_profile(request, required=False) is None:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:picker')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


class ProfileRequiredMixin:
    """Class-based page mixin with the same behaviour as `profile_required`."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return profile_required(super().dispatch)(request, *args, **kwargs)  # type: ignore[misc]
