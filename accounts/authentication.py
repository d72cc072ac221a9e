"""DRF authentication by `Authorization: Bearer ss_...` API tokens (looked up through
accounts.token_cache, so a busy client costs no query per request)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import token_cache, tokens
from accounts.models import ApiToken
from accounts.services import api_token_touch
from streamsite import shared_counters
from streamsite.api import throttling


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        raw = parts[1]
        if not raw.startswith(tokens.TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid token.")
        digest = tokens.digest(raw)
        view = (request.parser_context or {}).get("view")
        now = timezone.now()
        user_id = token_cache.remembered_user_id(digest)
        if view is not None and user_id is not None:
            # The user's throttle window is counted in the same round trip as the lookup's
            # read of the auth epoch (streamsite.api.throttling); the throttle still decides.
            _ride_along(request, view, user_id)

        def riders(token: ApiToken) -> None:
            # A token this process does not remember: its row is read first, then all of the
            # above goes with the shared counters' first read.
            _ride_along(request, view, token.user_id)

        found = token_cache.lookup(
            digest,
            profile_id=_named_profile_id(request),
            riders=riders if view is not None else None,
        )
        if found is None:
            raise exceptions.AuthenticationFailed(REVOKED)
        token, user = found
        refused = refusal(token, user)
        if refused is not None:
            raise exceptions.AuthenticationFailed(refused)
        api_token_touch(token=token, now=now)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


REVOKED = "Invalid, expired or revoked token."


def refusal(token: ApiToken, user: Any) -> str | None:
    """Why this token of this user does not authenticate, or None when it does."""
    if not token.is_active():
        return REVOKED
    if not user.is_active:
        return "This account is disabled."
    return None


def _ride_along(request: Request, view: Any, user_id: int) -> None:
    """What the request will need for this user, sent with its first read of the shared
    counters: the throttle's window, and what the view names (playback start: the account's
    entitlements), which the view's own code still checks."""
    throttling.count_early(view, user_id)
    reads = getattr(view, "reads_with_counters", None)
    if reads is not None:
        shared_counters.also_get(reads(request, user_id))


def _named_profile_id(request: Request) -> int | None:
    """The profile id X-Profile-Id names, when it is one a profile could have (the header's
    own checks and messages are accounts.selectors.request_profile's)."""
    header = request.META.get("HTTP_X_PROFILE_ID", "")
    if header.isascii() and header.isdigit() and 0 < len(header) <= 18:
        return int(header)
    return None


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes bearer tokens in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`ss_...`) from the account page or /api/v1/tokens.",
        }
