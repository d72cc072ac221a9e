"""The admin site. Every ModelAdmin registered on it is wrapped so that each write made
through it (add, change, list edit, delete, action) leaves an audit row, and the holes in
Django's own permission checks that matter for roles are closed:

- an action that names no permission needs the change permission (Django offers it to anyone
  who can see the list);
- the history page checks the permission before looking the object up, and an app's index
  without a permitted model answers 403 (both answered 404 or redirected before).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.services import record

_DIFF_ATTR = "_audit_admin_diff"


def _form_diff(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if form is None or not hasattr(form, "changed_data"):
        return {}, {}
    names = [n for n in form.changed_data if n in form.fields]
    before = {n: form.initial.get(n) for n in names}
    after = {n: form.cleaned_data.get(n) for n in names if n in form.cleaned_data}
    return before, after


class AuditedModelAdmin(admin.ModelAdmin):
    """Mixed in front of every registered ModelAdmin by StaffAdminSite.register."""

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        message = super().construct_change_message(request, form, formsets, add)
        setattr(request, _DIFF_ATTR, _form_diff(form))
        return message

    def _audit(self, request: HttpRequest, verb: str, obj: Model, message: Any = None) -> None:
        before, after = getattr(request, _DIFF_ATTR, ({}, {}))
        if hasattr(request, _DIFF_ATTR):
            delattr(request, _DIFF_ATTR)
        if message:
            after = {**after, "admin_message": message}
        record(action=f"admin.{verb}", obj=obj, before=before, after=after, request=request)

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self._audit(request, "add", obj, message)
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self._audit(request, "change", obj, message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record(action="admin.delete", obj=obj, request=request)
        return entries

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        may_change = self.has_change_permission(request)
        kept = {}
        for name, entry in actions.items():
            assert entry is not None
            func, action_name, description = entry
            if not getattr(func, "allowed_permissions", None) and not may_change:
                continue
            kept[name] = (self._audited_action(func, action_name), action_name, description)
        return kept

    def _audited_action(self, func: Any, name: str) -> Any:
        def run(modeladmin: Any, request: HttpRequest, queryset: Any) -> Any:
            ids = sorted(queryset.values_list("pk", flat=True))
            result = func(modeladmin, request, queryset)
            # Written after the action: an action may call a payment gateway, which never runs
            # inside a transaction. The rows it changes carry their own audit rows where the
            # service writes them (refunds, publishing, promotions, sign-outs).
            if name != "delete_selected":
                record(
                    action="admin.action",
                    object_type=self.model._meta.label_lower,
                    object_repr=name,
                    after={"action": name, "ids": ids},
                    request=request,
                )
            return result

        for attr in ("allowed_permissions", "short_description", "__name__"):
            if hasattr(func, attr):
                setattr(run, attr, getattr(func, attr))
        return run

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


class StaffAdminSite(admin.AdminSite):
    site_header = "Streamsite administration"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AuditedModelAdmin):
            base = type(base.__name__, (AuditedModelAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """A staff member's own password change in the admin: audited like the account page's."""
        with transaction.atomic():
            response = super().password_change(request, extra_context)
            if request.method == "POST" and response.status_code == 302:
                user = request.user
                assert isinstance(user, Model)  # admin views are for signed-in staff only
                record(action="account.password_change", obj=user, request=request)
        return response

    def app_index(
        self, request: HttpRequest, app_label: str, extra_context: Any = None
    ) -> TemplateResponse:
        if not self.get_app_list(request, app_label):
            raise PermissionDenied
        return super().app_index(request, app_label, extra_context)
