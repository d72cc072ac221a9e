"""Staff screens: model versions, their metrics over time, promote, roll back and train."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from recommendations import selectors, services
from recommendations.charts import metrics_chart_svg
from recommendations.models import Interaction, ModelVersion
from streamsite.errors import DomainError


def _metric(name: str, label: str) -> Any:
    def show(obj: ModelVersion) -> str:
        value = obj.metric(name)
        return "—" if value is None else f"{value:.4f}"

    show.short_description = label  # type: ignore[attr-defined]
    return show


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "algorithm",
        "status",
        _metric("ndcg@10", "NDCG@10"),
        _metric("recall@10", "Recall@10"),
        _metric("map@10", "MAP@10"),
        _metric("coverage", "coverage"),
        "training_seconds",
        "n_interactions",
        "created_at",
        "decision",
    ]
    list_filter = ["status", "algorithm"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["promote_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        urls = super().get_urls()
        extra = [
            path(
                "rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="recommendations_modelversion_rollback",
            ),
            path(
                "train/",
                self.admin_site.admin_view(self.train_view),
                name="recommendations_modelversion_train",
            ),
        ]
        return extra + urls

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        versions = list(ModelVersion.objects.order_by("-created_at", "-id")[:50])
        chart = metrics_chart_svg(selectors.metrics_series(versions))
        extra_context = {**(extra_context or {}), "metrics_chart": mark_safe(chart)}  # noqa: S308
        return super().changelist_view(request, extra_context=extra_context)

    def _back(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:recommendations_modelversion_changelist"))

    @admin.action(description="Promote the selected version to live")
    def promote_selected(self, request: HttpRequest, queryset: Any) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        try:
            version = services.promote(version=queryset.get())
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Version #{version.pk} is live.", messages.SUCCESS)

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponse("Forbidden", status=403)
        try:
            version = services.rollback()
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._back()
        self.message_user(request, f"Rolled back: version #{version.pk} is live.")
        return self._back()

    def train_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponse("Forbidden", status=403)
        try:
            version = services.training_request(algorithm=request.POST.get("algorithm") or None)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._back()
        self.message_user(request, f"Training queued as version #{version.pk}.")
        return self._back()


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["profile", "title", "weight", "plays", "completions", "thumb", "last_at"]
    list_select_related = ["profile", "title"]
    raw_id_fields = ["profile", "title"]
    search_fields = ["title__name", "profile__name"]
    date_hierarchy = "last_at"
