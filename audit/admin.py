"""The audit log in the admin: read-only rows, and a search page with CSV export, both for
holders of audit.view_auditentry (superusers unless a role is given it)."""

from __future__ import annotations

import csv
import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _

from audit.forms import AuditSearchForm
from audit.models import AuditEntry
from streamsite.roles import can_view_audit

CSV_COLUMNS = [
    "at",
    "actor_user_id",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "ip",
]
PAGE_SIZE = 100


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
    # A cell a spreadsheet would run as a formula is quoted (CSV injection).
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_rows(rows: Any) -> Any:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows.values_list(*CSV_COLUMNS).iterator(chunk_size=2000):
        yield writer.writerow([_csv_cell(v) for v in row])


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor_email", "object_type", "object_id", "object_repr", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_email", "object_repr", "object_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view_audit(request.user)

    def get_urls(self) -> list:
        return [
            path(
                "search/",
                self.admin_site.admin_view(self.search_view),
                name="audit_auditentry_search",
            ),
            *super().get_urls(),
        ]

    def search_view(self, request: HttpRequest) -> HttpResponseBase:
        if not can_view_audit(request.user):
            raise PermissionDenied
        form = AuditSearchForm(request.GET or None)
        if request.GET and not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Audit log"),
                "form": form,
            }
            return TemplateResponse(request, "admin/audit/search.html", context, status=400)
        rows = AuditEntry.objects.for_search(**(form.filters() if request.GET else {}))
        if request.GET.get("format") == "csv":
            response = StreamingHttpResponse(csv_rows(rows), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
            return response
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("format", None)
        page_query = query.urlencode()
        query["format"] = "csv"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Audit log"),
            "form": form,
            "page": page,
            "csv_query": query.urlencode(),
            "page_query": page_query,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/audit/search.html", context)
