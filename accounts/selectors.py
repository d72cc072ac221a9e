"""Reads for accounts that other modules and apps need (the current profile above all)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from accounts import token_cache
from accounts.models import ApiToken, Profile, ProfileUnlock, TotpDevice, User, UserSession
from streamsite.errors import DomainError, PermissionDenied, ValidationFailed

PROFILE_HEADER = "X-Profile-Id"
SESSION_PROFILE = "accounts_profile_id"
SESSION_PROFILE_PIN_OK = "accounts_profile_pin_ok"
_CACHE_ATTR = "_accounts_profile"


def profile_limit(account: User) -> int:
    """How many profiles the account may have: the plan's (provider setting) or the default."""
    provider = getattr(settings, "ACCOUNTS_PROFILE_LIMIT_PROVIDER", None)
    if provider:
        return int(import_string(provider)(account))
    return int(settings.ACCOUNTS_MAX_PROFILES)


def profiles_for(account: User) -> QuerySet[Profile]:
    return Profile.objects.filter(account=account).order_by("created_at", "id")


def _user(request: Any) -> User | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user  # type: ignore[no-any-return]


def profile_is_unlocked(request: Any, profile: Profile) -> bool:
    """Whether this request may act as `profile`: no PIN, or the PIN was verified.

    Browser (session): verified when the profile was chosen in the picker. API with a token:
    a ProfileUnlock row for (profile, token) that has not expired.
    """
    if not profile.has_pin:
        return True
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return ProfileUnlock.objects.filter(
            profile=profile, api_token=auth, expires_at__gt=timezone.now()
        ).exists()
    session = getattr(request, "session", None)
    if session is None:
        return False
    return bool(session.get(SESSION_PROFILE) == profile.pk and session.get(SESSION_PROFILE_PIN_OK))


def _named_profile(request: Any, user: User, profile_id: int, name: str) -> Profile:
    profile = token_cache.profile_lookup(profile_id, user)
    if profile is None:
        raise PermissionDenied(
            gettext("%(name)s names no profile of this account.") % {"name": name},
            code="invalid_profile",
        )
    if not profile_is_unlocked(request, profile):
        raise PermissionDenied(
            gettext(
                "This profile is locked with a PIN: verify it first "
                "(POST /api/v1/profiles/%(id)d/verify-pin)."
            )
            % {"id": profile.pk},
            code="profile_locked",
        )
    return profile


def request_profile(
    request: HttpRequest | Any, *, required: bool = True, profile_id: int | None = None
) -> Profile | None:
    """The profile this request views as: the one rule for every way of naming a profile.

    API clients name it with the `X-Profile-Id` header; a request body may name it too
    (`profile_id`, passed here by the view); without either, the profile chosen in the
    browser's "Who's watching?" picker (kept in the session) is used. Whichever way it is
    named, it must be the user's and, when PIN-locked, unlocked for this session or API token
    (`profile_is_unlocked`); a header and a body naming different profiles is refused. Its
    maturity limits what it may watch through `profile_allows`.
    When `required` and there is no usable profile: PermissionDenied (403) with a message.
    """
    if profile_id is None and hasattr(request, _CACHE_ATTR):
        cached: Profile | None = getattr(request, _CACHE_ATTR)
        if cached is not None or not required:
            return cached
    user = _user(request)
    header = request.META.get("HTTP_X_PROFILE_ID")
    profile: Profile | None = None
    if user is None:
        if required or header is not None or profile_id is not None:
            raise PermissionDenied(gettext("Sign in first."), code="not_authenticated")
        return None
    header_id: int | None = None
    if header is not None:
        try:
            header_id = int(header)
        except ValueError:
            raise ValidationFailed(
                gettext("X-Profile-Id must be a profile id (an integer)."), code="invalid_profile"
            ) from None
    if profile_id is not None and header_id is not None and profile_id != header_id:
        raise ValidationFailed(
            gettext("profile_id and X-Profile-Id name different profiles."),
            code="profile_conflict",
            extra={"fields": {"profile_id": [gettext("Does not match X-Profile-Id.")]}},
        )
    if profile_id is not None:
        profile = _named_profile(request, user, profile_id, "profile_id")
    elif header_id is not None:
        profile = _named_profile(request, user, header_id, PROFILE_HEADER)
    else:
        session = getattr(request, "session", None)
        session_profile_id = session.get(SESSION_PROFILE) if session is not None else None
        if session_profile_id is not None:
            profile = token_cache.profile_lookup(session_profile_id, user)
            if profile is not None and not profile_is_unlocked(request, profile):
                profile = None
    if profile is not None:
        profile.account = user  # it is this user's (checked above): no query to read it back
    setattr(request, _CACHE_ATTR, profile)
    if profile is None and required:
        raise PermissionDenied(
            gettext(
                "Choose a profile first: send the X-Profile-Id header (API) or pick one "
                "on the “Who's watching?” page."
            ),
            code="profile_required",
        )
    return profile


def supported_language(code: str | None) -> str | None:
    """`code` as one of settings.LANGUAGES ("es-MX" -> "es"), or None when it is none of them."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def viewer_language(request: HttpRequest) -> str:
    """The language a request is answered in: the one rule (docs/i18n.md).

    The current profile's language, else the account's, else the browser's Accept-Language,
    else LANGUAGE_CODE; a stored language the site does not offer is passed over. API clients
    that sign in with a token are known only inside the view, so they get Accept-Language.
    """
    user = _user(request)
    if user is not None:
        try:
            profile = request_profile(request, required=False)
        except DomainError:
            profile = None  # a bad X-Profile-Id is refused by the view, in the fallback language
        for stored in (profile.language if profile else None, user.language):
            language = supported_language(stored)
            if language:
                return language
    return translation.get_language_from_request(request)


def profile_allows(profile: Profile, maturity_level: int) -> bool:
    """Whether `profile` may see content rated `maturity_level` (the profile's maturity rule)."""
    return int(maturity_level) <= int(profile.maturity)


def two_factor_enabled(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def sessions_for(user: User) -> QuerySet[UserSession]:
    return UserSession.objects.for_user(user)


def tokens_for(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_user(user)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def account_export(user: User) -> dict[str, Any]:
    """Everything the account holds, as JSON-ready data (for download before deletion).

    Other apps add their part through ACCOUNTS_EXPORT_PROVIDERS: dotted paths to
    fn(account) -> dict, each stored under the key the function's module names.
    """
    data: dict[str, Any] = {
        "account": {
            "id": user.pk,
            "email": user.email,
            "country": user.country,
            "date_joined": _iso(user.date_joined),
            "email_verified_at": _iso(user.email_verified_at),
            "last_login": _iso(user.last_login),
            "two_factor_enabled": two_factor_enabled(user),
        },
        "profiles": [
            {
                "id": p.pk,
                "name": p.name,
                "maturity": p.get_maturity_display(),
                "is_kids": p.is_kids,
                "language": p.language,
                "avatar": p.avatar,
                "has_pin": p.has_pin,
                "created_at": _iso(p.created_at),
            }
            for p in profiles_for(user)
        ],
        "sessions": [
            {
                "device": s.device_name,
                "ip": s.ip,
                "location": s.location,
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
            }
            for s in sessions_for(user)
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens_for(user)
        ],
    }
    for dotted in getattr(settings, "ACCOUNTS_EXPORT_PROVIDERS", []):
        data[dotted.split(".")[0]] = import_string(dotted)(user)
    return data
