"""Who may see the operators' dashboard: one rule, checked by the page, its CSV files and API."""

from __future__ import annotations

from typing import Any

PERMISSION = "insights.view_dashboard"


def can_view_dashboard(user: Any) -> bool:
    """Active staff holding insights.view_dashboard (superusers hold every permission)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(PERMISSION)
    )
