"""DRF permission classes shared by every app: a staff API names its rule of streamsite.roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.permissions import BasePermission


def staff_rule(
    rule: Callable[[Any], bool], message: str = "Your staff role does not allow this."
) -> type[BasePermission]:
    """A permission class granting `rule(request.user)` (401 when not signed in, else 403).
    The class carries the rule as `staff_rule`: the role-matrix test finds staff APIs by it."""

    class StaffRule(BasePermission):
        staff_rule = staticmethod(rule)

        def has_permission(self, request: Any, view: Any) -> bool:
            return bool(rule(request.user))

    StaffRule.message = message  # type: ignore[attr-defined]
    StaffRule.__name__ = StaffRule.__qualname__ = f"StaffRule_{rule.__name__}"
    return StaffRule
