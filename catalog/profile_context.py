"""Which profile and viewer a request acts as.

LOCAL ADAPTER, TO BE REPLACED AT MERGE by `accounts.selectors.request_profile(request,
required=True)` from the accounts app (same contract: `X-Profile-Id` header for the API,
`session["profile_id"]` in the browser, always verified against request.user).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import Profile
from catalog.selectors.viewer import (
    Viewer,
    viewer_anonymous,
    viewer_for_account,
    viewer_for_profile,
)
from streamsite.errors import NotFound, ValidationFailed

HEADER = "HTTP_X_PROFILE_ID"
SESSION_KEY = "profile_id"


def request_profile(request: Any, required: bool = True) -> Profile | None:
    """The profile named by the X-Profile-Id header or the session, owned by request.user.

    With neither, an account with exactly one profile uses it. A profile of another account is
    "not found" (never "forbidden": ids of other households are not confirmed).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        if required:
            raise ValidationFailed("Sign in and choose a profile first.", code="profile_required")
        return None
    raw = request.META.get(HEADER)
    if raw is None:
        session = getattr(request, "session", None)
        raw = session.get(SESSION_KEY) if session is not None else None
    if raw is None or raw == "":
        profiles = list(Profile.objects.filter(account=user).select_related("account")[:2])
        if len(profiles) == 1:
            return profiles[0]
        if required:
            raise ValidationFailed(
                "Choose a profile: send its id in the X-Profile-Id header.",
                code="profile_required",
            )
        return None
    try:
        profile_id = int(str(raw))
    except ValueError:
        raise ValidationFailed("X-Profile-Id must be a profile id (an integer).") from None
    profile = Profile.objects.filter(pk=profile_id, account=user).select_related("account").first()
    if profile is None:
        raise NotFound("No such profile.")
    return profile


def country_from_request(request: Any) -> str | None:
    """GeoIP hook for signed-out visitors: CATALOG_COUNTRY_RESOLVER names fn(request) -> code."""
    dotted = getattr(settings, "CATALOG_COUNTRY_RESOLVER", "")
    if not dotted:
        return None
    country = import_string(dotted)(request)
    return str(country).upper() if country else None


def request_viewer(request: Any) -> Viewer:
    """The viewer every catalogue read is scoped to: profile, else account, else anonymous."""
    profile = request_profile(request, required=False)
    if profile is not None:
        return viewer_for_profile(profile)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return viewer_for_account(user)
    return viewer_anonymous(country_from_request(request))
