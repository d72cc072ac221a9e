"""Staff screens for sites, edges, coverage zones and what edges hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from cdn import services
from cdn.models import (
    CountryDefault,
    CoverageZone,
    Edge,
    EdgeContent,
    EdgeMode,
    Site,
    SteeringDecision,
)
from cdn.selectors import JSONArrayLength

# An edge's URLs typed without a scheme are read as https (Django 6's default; 5.2 warns
# that it still assumes http).
EDGE_URLS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class EdgeInline(admin.TabularInline):
    model = Edge
    extra = 0
    formfield_overrides = EDGE_URLS
    fields = ["name", "base_url", "capacity", "weight", "admin_state", "healthy", "load"]
    readonly_fields = ["healthy", "load"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "country", "timezone", "is_global_default"]
    list_filter = ["tier", "country"]
    filter_horizontal = ["backups"]
    inlines = [EdgeInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.config_changed()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.config_changed()


@admin.register(Edge)
class EdgeAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "admin_state", "healthy", "load", "hit_ratio_display"]
    list_filter = ["admin_state", "healthy", "site"]
    readonly_fields = ["healthy", "load", "hits", "misses", "health_checked_at"]
    actions = ["drain", "online", "offline"]
    formfield_overrides = EDGE_URLS

    @admin.display(description=gettext_lazy("hit ratio (warming)"))
    def hit_ratio_display(self, edge: Edge) -> str:
        return "–" if edge.hit_ratio is None else f"{edge.hit_ratio:.0%}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.config_changed()

    def _set(self, request: HttpRequest, queryset: QuerySet[Edge], state: str) -> None:
        for edge in queryset.order_by("pk"):
            services.edge_set_admin_state(edge=edge, admin_state=state)
        count = queryset.count()
        messages.success(
            request,
            ngettext("%(count)s edge set to %(state)s.", "%(count)s edges set to %(state)s.", count)
            % {"count": count, "state": state},
        )

    @admin.action(description=gettext_lazy("Drain (no new sessions)"))
    def drain(self, request, queryset):
        self._set(request, queryset, Edge.AdminState.DRAIN)

    @admin.action(description=gettext_lazy("Put online"))
    def online(self, request, queryset):
        self._set(request, queryset, Edge.AdminState.ONLINE)

    @admin.action(description=gettext_lazy("Take offline"))
    def offline(self, request, queryset):
        self._set(request, queryset, Edge.AdminState.OFFLINE)


@admin.register(CoverageZone)
class CoverageZoneAdmin(admin.ModelAdmin):
    list_display = ["cidr", "site"]
    list_filter = ["site"]
    search_fields = ["cidr"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.config_changed()


@admin.register(CountryDefault)
class CountryDefaultAdmin(admin.ModelAdmin):
    list_display = ["country", "site"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.config_changed()


@admin.register(EdgeContent)
class EdgeContentAdmin(admin.ModelAdmin):
    list_display = ["content_key", "edge", "status", "score", "files_done", "bytes_done"]
    list_filter = ["status", "edge__site"]
    search_fields = ["content_key"]


@admin.register(SteeringDecision)
class SteeringDecisionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "client_ip", "content_key", "located_by", "site_name"]
    list_filter = ["located_by", "site_name"]
    date_hierarchy = "created_at"


@admin.register(EdgeMode)
class EdgeModeAdmin(admin.ModelAdmin):
    """What the per-edge mode chose and why (the arms' hits), and the keep-hot touches the
    last run sent; written by cdn_edge_lists and the touch task only."""

    list_display = [
        "edge",
        "mode",
        "pin_hits",
        "lru_hits",
        "lookups",
        "capacity",
        "chosen_at",
        "touched_at",
        "touch_error",
    ]
    list_filter = ["mode"]
    list_select_related = ["edge"]
    fields = readonly_fields = (
        "edge",
        "mode",
        "pin_hits",
        "lru_hits",
        "lookups",
        "lookup_bytes",
        "capacity",
        "chosen_at",
        "updated_at",
        "files_to_touch",
        "touched_at",
        "touches",
        "touch_hits",
        "touches_skipped",
        "touch_error",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[EdgeMode]:
        # The arms and read counts are compressed blobs of up to megabytes, and the lists (every
        # title played before, the files to touch) as long as the catalogue: none is shown, so
        # none is loaded; the database counts the files to touch.
        return (
            super()
            .get_queryset(request)
            .defer("arms", "heat", "pinned", "played", "touch_keys")
            .annotate(touch_files=JSONArrayLength("touch_keys"))
        )

    @admin.display(description="files to touch")
    def files_to_touch(self, obj: EdgeMode) -> int:
        return obj.touch_files  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EdgeMode | None = None) -> bool:
        return False
