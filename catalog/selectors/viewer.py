"""Who is looking: the country and maturity limit every catalogue read is scoped to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import Maturity
from accounts.selectors import request_profile

if TYPE_CHECKING:
    from accounts.models import Profile, User


@dataclass(frozen=True)
class Viewer:
    country: str
    max_maturity: int
    profile: Profile | None = None

    @property
    def profile_id(self) -> int | None:
        return self.profile.pk if self.profile is not None else None


def viewer_for_profile(profile: Profile) -> Viewer:
    """The profile's account country (or DEFAULT_COUNTRY) and the profile's maturity."""
    return Viewer(
        country=profile.account.effective_country.upper(),
        max_maturity=int(profile.maturity),
        profile=profile,
    )


def viewer_for_account(user: User) -> Viewer:
    """A signed-in account with no profile chosen: its country, its most restricted profile."""
    levels = list(user.profiles.values_list("maturity", flat=True))
    return Viewer(
        country=user.effective_country.upper(),
        max_maturity=min(levels) if levels else int(Maturity.ADULTS),
    )


def viewer_anonymous(country: str | None = None) -> Viewer:
    """A signed-out visitor: the country from a resolver (GeoIP) if given, else DEFAULT_COUNTRY."""
    return Viewer(
        country=(country or settings.DEFAULT_COUNTRY).upper(), max_maturity=int(Maturity.ADULTS)
    )


def country_from_request(request: Any) -> str | None:
    """GeoIP hook for signed-out visitors: CATALOG_COUNTRY_RESOLVER names fn(request) -> code."""
    dotted = getattr(settings, "CATALOG_COUNTRY_RESOLVER", "")
    if not dotted:
        return None
    country = import_string(dotted)(request)
    return str(country).upper() if country else None


def request_viewer(request: Any) -> Viewer:
    """The viewer every catalogue read is scoped to: the request's profile (accounts'
    `request_profile`), else the signed-in account, else an anonymous visitor."""
    profile = request_profile(request, required=False)
    if profile is not None:
        return viewer_for_profile(profile)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return viewer_for_account(user)
    return viewer_anonymous(country_from_request(request))
