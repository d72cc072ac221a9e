"""Typed access to the authenticated user inside API views."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rest_framework.request import Request

if TYPE_CHECKING:
    from accounts.models import User


def request_user(request: Request) -> User:
    """The signed-in user; views using it run behind IsAuthenticated."""
    assert request.user.is_authenticated
    return cast("User", request.user)
