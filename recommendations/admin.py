"""Staff screens: model versions, their metrics over time, promote, roll back and train."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Profile
from catalog.models import Title
from catalog.selectors.titles import artwork_url, with_artwork
from recommendations import rows, selectors, services
from recommendations.charts import metrics_chart_svg
from recommendations.models import Interaction, ModelVersion
from streamsite import roles
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

    @admin.action(
        description=gettext_lazy("Promote the selected version to live"), permissions=["change"]
    )
    def promote_selected(self, request: HttpRequest, queryset: Any) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to promote."), messages.ERROR)
            return
        try:
            version = services.promote(version=queryset.get())
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request, _("Version #%(pk)s is live.") % {"pk": version.pk}, messages.SUCCESS
        )

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_manage_models(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            version = services.rollback()
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._back()
        self.message_user(request, _("Rolled back: version #%(pk)s is live.") % {"pk": version.pk})
        return self._back()

    def train_view(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_manage_models(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            version = services.training_request(algorithm=request.POST.get("algorithm") or None)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._back()
        self.message_user(request, _("Training queued as version #%(pk)s.") % {"pk": version.pk})
        return self._back()


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = [
        "profile",
        "title",
        "weight",
        "plays",
        "completions",
        "thumb",
        "last_at",
        "home_as_profile",
    ]

    @admin.display(description=gettext_lazy("Home page"))
    def home_as_profile(self, obj: Interaction) -> str:
        url = reverse("admin:recommendations_home_as", args=[obj.profile_id])
        return format_html('<a href="{}">See as this profile</a>', url)

    def get_urls(self) -> list:
        extra = [
            path(
                "home-as/<int:profile_id>/",
                self.admin_site.admin_view(self.home_as_view),
                name="recommendations_home_as",
            )
        ]
        return extra + super().get_urls()

    def home_as_view(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        """The profile's home rows as it would see them (staff only; nothing is written)."""
        if not roles.can_see_home_as(request.user):
            raise PermissionDenied
        profile = Profile.objects.select_related("account").filter(pk=profile_id).first()
        if profile is None:
            raise Http404(_("No such profile."))
        got = rows.rows_for_profile(profile)
        titles = {
            t.pk: t
            for t in with_artwork(
                Title.objects.filter(pk__in={i for r in got for i in r.title_ids})
            )
        }
        shown = [
            {
                "label": r.label,
                "key": r.key,
                "cards": [
                    {
                        "title": titles[t],
                        "poster": artwork_url(titles[t], "poster", "md"),
                        "why": r.explanation.get(t, ""),
                    }
                    for t in r.title_ids
                    if t in titles
                ],
            }
            for r in got
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Home page as %(name)s (%(email)s)")
            % {"name": profile.name, "email": profile.account.email},
            "profile": profile,
            "rows": shown,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/recommendations/home_as.html", context)

    list_select_related = ["profile", "title"]
    raw_id_fields = ["profile", "title"]
    search_fields = ["title__name", "profile__name"]
    date_hierarchy = "last_at"
