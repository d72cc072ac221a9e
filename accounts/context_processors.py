"""Template context: the viewer profile for the account menu (lazy: no query unless shown)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import selectors
from streamsite.errors import DomainError


def _profile(request: HttpRequest) -> Any:
    try:
        return selectors.request_profile(request, required=False)
    except DomainError:
        return None


def viewer(request: HttpRequest) -> dict[str, Any]:
    return {"current_profile": SimpleLazyObject(lambda: _profile(request))}
