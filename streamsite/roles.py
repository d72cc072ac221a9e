"""Staff roles of least privilege and the permission rules every staff screen and staff API
checks. One function per rule; views and admin code call these, never `is_staff` alone.

ROLES is what the data migration (streamsite 0002) gives each group; changing it needs a new
migration that calls `roles_sync`. It lives in the project package, below every app, because
every app's screens ask these rules (cdn included, which imports no domain app); permissions
are named as strings, so nothing here imports an app. The matrix of who may open which staff
URL is in docs/operations.md; tests/streamsite/test_role_matrix.py walks every staff URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse

CONTENT_EDITOR = "Content editor"
SUPPORT = "Support"
FINANCE = "Finance"
OPERATIONS = "Operations"


def _crud(app: str, *models: str, ops: str = "view add change delete") -> list[str]:
    return [f"{app}.{op}_{model}" for model in models for op in ops.split()]


# Permissions that belong to no model's defaults, made by the migration.
CUSTOM_PERMISSIONS = {
    "billing.view_revenue": ("billing", "subscription", "Can view revenue (MRR, churn)"),
    "billing.refund_over_limit": (
        "billing",
        "creditnote",
        "Can refund more than STAFF_SUPPORT_REFUND_LIMIT",
    ),
}

ROLES: dict[str, list[str]] = {
    CONTENT_EDITOR: [
        *_crud(
            "catalog",
            "title",
            "season",
            "episode",
            "genre",
            "person",
            "credit",
            "availability",
            "artwork",
            "externalid",
        ),
        *_crud("media", "mediaasset", ops="view add"),
        *_crud("media", "subtitle", ops="view add change"),
        "media.view_rendition",
    ],
    SUPPORT: [
        *_crud("accounts", "user", "profile", "usersession", "apitoken", ops="view"),
        "accounts.delete_usersession",  # revoke a member's sessions
        *_crud("billing", "subscription", "invoice", "creditnote", ops="view"),
        "billing.add_creditnote",  # refund, up to STAFF_SUPPORT_REFUND_LIMIT
        *_crud("playback", "viewingevent", "progress", "mylistentry", "thumbrating", ops="view"),
    ],
    FINANCE: [
        *_crud("billing", "plan", "price", "coupon", ops="view add change"),
        *_crud(
            "billing",
            "subscription",
            "billingaccount",
            "invoice",
            "creditnote",
            "payment",
            "balancetransaction",
            "subscriptionevent",
            "webhookevent",
            ops="view",
        ),
        "billing.change_subscription",
        "billing.change_billingaccount",  # grant credit
        "billing.add_creditnote",
        "billing.refund_over_limit",
        "billing.view_revenue",
        "accounts.view_user",
    ],
    OPERATIONS: [
        *_crud("cdn", "site", "edge", "coveragezone", "countrydefault", "edgecontent"),
        "cdn.view_steeringdecision",
        "cdn.view_edgemode",  # the per-edge mode each edge runs, and its arms' hits
        "cdn.use_steering",
        *_crud("media", "mediaasset", ops="view change"),  # retry, cancel, re-encode
        *_crud("media", "rendition", "subtitle", ops="view"),
        *_crud("recommendations", "modelversion", ops="view change"),  # promote, train
        "recommendations.view_interaction",
        "insights.view_dashboard",
    ],
}
# The operators' dashboard (insights) is Operations' and Finance's; its revenue charts need
# billing.view_revenue as well, which Finance alone holds.
ROLES[FINANCE].append("insights.view_dashboard")


def roles_sync(apps: Any) -> None:
    """Make each group hold exactly its ROLES permissions (a migration's RunPython)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True  # historical app configs: make create_permissions run
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for dotted, (app_label, model, name) in CUSTOM_PERMISSIONS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        Permission.objects.get_or_create(
            content_type=content_type, codename=dotted.split(".")[1], defaults={"name": name}
        )
    for group_name, wanted in ROLES.items():
        perms = []
        for dotted in wanted:
            app_label, codename = dotted.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(perms)


# --- Rules ------------------------------------------------------------------------------------


def _perm(user: Any, perm: str) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(perm))


def is_staff_member(user: Any) -> bool:
    """May sign in to staff screens at all (what each screen allows is a rule below)."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def can_change_roles(user: Any) -> bool:
    """Staff flags, superuser flags, groups and permissions: superusers only."""
    return bool(is_staff_member(user) and user.is_superuser)


def can_revoke_sessions(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "accounts.delete_usersession")


def can_deactivate_accounts(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "accounts.change_user")


def can_refund(user: Any, *, amount: int | None = None, limit: int | None = None) -> bool:
    """Any refund with billing.refund_over_limit; with add_creditnote alone, up to `limit`
    (STAFF_SUPPORT_REFUND_LIMIT in the invoice's minor units: billing.money.staff_refund_limit).
    Without an amount: whether the user may refund at all."""
    if not (is_staff_member(user) and _perm(user, "billing.add_creditnote")):
        return False
    if amount is None or _perm(user, "billing.refund_over_limit"):
        return True
    return limit is not None and amount <= limit


def can_see_card_details(user: Any) -> bool:
    """A card's brand and last digits (Support sees subscriptions without them)."""
    return is_staff_member(user) and _perm(user, "billing.view_payment")


def can_grant_credit(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "billing.change_billingaccount")


def can_view_revenue(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "billing.view_revenue")


def can_view_media(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "media.view_mediaasset")


def can_upload_media(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "media.add_mediaasset")


def can_control_transcodes(user: Any) -> bool:
    """Retry, cancel, re-encode a media job."""
    return is_staff_member(user) and _perm(user, "media.change_mediaasset")


def can_edit_subtitles(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "media.add_subtitle")


def can_view_cdn(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "cdn.view_site")


def can_import_coverage(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "cdn.add_coveragezone")


def can_steer(user: Any) -> bool:
    """Staff or a service account (not staff) holding cdn.use_steering."""
    return _perm(user, "cdn.use_steering")


def can_manage_models(user: Any) -> bool:
    """Promote, roll back and train recommendation models."""
    return is_staff_member(user) and _perm(user, "recommendations.change_modelversion")


def can_see_home_as(user: Any) -> bool:
    """See a profile's home rows as it sees them (personal data: viewing history)."""
    return is_staff_member(user) and _perm(user, "recommendations.view_interaction")


def can_view_dashboard(user: Any) -> bool:
    """The operators' dashboard at /staff/, its CSV files and staff API (revenue charts in it
    also need can_view_revenue)."""
    return is_staff_member(user) and _perm(user, "insights.view_dashboard")


def can_view_audit(user: Any) -> bool:
    return is_staff_member(user) and _perm(user, "audit.view_auditentry")


# --- Pages ------------------------------------------------------------------------------------


def staff_page(rule: Callable[[Any], bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Page decorator: anyone not signed in as staff goes to the admin sign-in (as Django's
    staff_member_required does); staff whose role fails `rule` get 403. The view carries the
    rule as `staff_rule` (the role-matrix test finds staff pages by it). APIs:
    streamsite.api.permissions.staff_rule."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not is_staff_member(request.user):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not rule(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.staff_rule = rule  # type: ignore[attr-defined]
        return wrapper

    return decorate
