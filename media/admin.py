"""Staff screens of the media pipeline: upload, live job progress, ladder chart, retry/cancel."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from media import services, subtitles
from media.chart import ladder_svg
from media.models import MediaAsset, Rendition, Subtitle
from streamsite import roles
from streamsite.errors import DomainError


class UploadForm(forms.ModelForm):
    source = forms.FileField(
        label=gettext_lazy("Source"),
        help_text=gettext_lazy("The source video (any format ffmpeg reads)."),
    )

    class Meta:
        model = MediaAsset
        fields = ["title", "episode"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("title")) == bool(data.get("episode")):
            raise forms.ValidationError(_("Choose exactly one: a movie title or an episode."))
        return data


class SubtitleForm(forms.Form):
    language = forms.CharField(
        label=gettext_lazy("Language"), max_length=16, help_text=gettext_lazy("e.g. en, pt-BR")
    )
    label = forms.CharField(label=gettext_lazy("Label"), max_length=64)
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy("SRT or WebVTT"))


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    fields = readonly_fields = [  # type: ignore[assignment]
        "version",
        "width",
        "height",
        "target_bitrate",
        "average_bandwidth",
        "bandwidth",
        "codecs",
        "vmaf",
        "ssim",
        "size_bytes",
        "segment_count",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SubtitleInline(admin.TabularInline):
    model = Subtitle
    extra = 0
    can_delete = False
    fields = readonly_fields = ["language", "label", "vtt_key", "created_at"]  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def progress_bar(asset: MediaAsset) -> str:
    return format_html(
        '<progress max="100" value="{}" title="{}%">{}%</progress> {}',
        asset.progress,
        asset.progress,
        asset.progress,
        asset.get_status_display(),
    )


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "job", "version", "ready_version", "ladder_method", "created_at"]
    list_filter = ["status", "ladder_method"]
    list_select_related = ["title", "episode__season__title"]
    search_fields = ["source_name", "title__name", "episode__name", "uuid"]
    actions = ["retry_jobs", "cancel_jobs"]
    inlines = [RenditionInline, SubtitleInline]
    change_form_template = "media/admin_change_form.html"
    readonly_fields = [
        "title",
        "episode",
        "uuid",
        "status",
        "progress",
        "version",
        "attempts",
        "error",
        *MediaAsset.SOURCE_FIELDS,
        *MediaAsset.PROBED_FIELDS,
        "ladder_method",
        "complexity",
        *MediaAsset.SERVED_FIELDS,
        "heartbeat_at",
        "started_at",
        "finished_at",
        "ready_at",
        "created_by",
    ]
    fieldsets = [
        (None, {"fields": ["title", "episode", "uuid", "created_by"]}),
        ("Job", {"fields": ["status", "progress", "version", "attempts", "error", "heartbeat_at"]}),
        (
            "Source",
            {
                "fields": [
                    *MediaAsset.SOURCE_FIELDS,
                    *MediaAsset.PROBED_FIELDS,
                ]
            },
        ),
        (
            "Served version",
            {
                "fields": [
                    "ladder_method",
                    "complexity",
                    *MediaAsset.SERVED_FIELDS,
                    "ready_at",
                ]
            },
        ),
    ]

    @admin.display(description=gettext_lazy("Job"))
    def job(self, obj: MediaAsset) -> str:
        return progress_bar(obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = UploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [(None, {"fields": ["title", "episode", "source"]})]
        return self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any = None):
        return [] if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj: MediaAsset, form: Any, change: bool) -> None:
        if change:
            return  # every field is read-only; changes go through the actions
        asset = services.asset_create(
            upload=form.cleaned_data["source"],
            title=form.cleaned_data.get("title"),
            episode=form.cleaned_data.get("episode"),
            created_by=request.user,
        )
        obj.pk = asset.pk
        obj.__dict__.update({k: v for k, v in asset.__dict__.items() if not k.startswith("_")})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    def response_add(self, request: HttpRequest, obj: MediaAsset, post_url_continue: Any = None):
        self.message_user(request, _("Uploaded. The job is queued; progress shows below."))
        return HttpResponseRedirect(reverse("admin:media_mediaasset_change", args=[obj.pk]))

    # --- actions ---------------------------------------------------------------------------------

    def _run(self, request: HttpRequest, assets: QuerySet[MediaAsset], name: str) -> None:
        service = {"retry": services.asset_retry, "cancel": services.asset_cancel}[name]
        done, refused = 0, []
        for asset in assets.order_by("pk"):
            try:
                service(asset=asset)
                done += 1
            except DomainError as exc:
                refused.append(f"#{asset.pk}: {exc.message}")
        if done:
            done_text = {
                "retry": _("Retry: %(done)s job(s)."),
                "cancel": _("Cancel: %(done)s job(s)."),
            }[name]
            self.message_user(request, done_text % {"done": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=gettext_lazy("Retry the selected failed or cancelled jobs"))
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[MediaAsset]) -> None:
        self._run(request, queryset, "retry")

    @admin.action(description=gettext_lazy("Cancel the selected queued or running jobs"))
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[MediaAsset]) -> None:
        self._run(request, queryset, "cancel")

    # --- extra views -----------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:asset_id>/progress/",
                wrap(self.progress_view),
                name="media_mediaasset_progress",
            ),
            path(
                "<int:asset_id>/control/<str:action>/",
                wrap(self.control_view),
                name="media_mediaasset_control",
            ),
            path(
                "<int:asset_id>/subtitles/",
                wrap(self.subtitles_view),
                name="media_mediaasset_subtitles",
            ),
            *super().get_urls(),
        ]

    def _asset(self, request: HttpRequest, asset_id: int) -> MediaAsset:
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        return get_object_or_404(MediaAsset, pk=asset_id)

    def progress_view(self, request: HttpRequest, asset_id: int) -> JsonResponse:
        """The small JSON the change page polls while a job runs."""
        asset = self._asset(request, asset_id)
        return JsonResponse(
            {
                "status": asset.status,
                "status_display": asset.get_status_display(),
                "progress": asset.progress,
                "version": asset.version,
                "error": asset.error,
                "log_tail": asset.log_tail[-2000:],
                "running": asset.status in MediaAsset.ACTIVE_STATUSES,
            }
        )

    def control_view(self, request: HttpRequest, asset_id: int, action: str) -> HttpResponse:
        if not roles.can_control_transcodes(request.user):
            raise DjangoPermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return _control(self, request, asset_id, action)

    def subtitles_view(self, request: HttpRequest, asset_id: int) -> HttpResponse:
        if not roles.can_edit_subtitles(request.user):
            raise DjangoPermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return _subtitles(self, request, asset_id)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        asset = MediaAsset.objects.filter(pk=object_id).first()
        extra = dict(extra_context or {})
        if asset is not None:
            served = list(
                asset.renditions.filter(version=asset.ready_version or 0).order_by("height")
            )
            extra.update(
                {
                    "asset": asset,
                    "ladder_chart": ladder_svg(served),
                    "subtitle_form": SubtitleForm(),
                    "can_retry": asset.status in (MediaAsset.Status.FAILED, "cancelled"),
                    "can_cancel": asset.status in MediaAsset.ACTIVE_STATUSES,
                    "can_reencode": asset.status == MediaAsset.Status.READY,
                    "running": asset.status in MediaAsset.ACTIVE_STATUSES,
                }
            )
        return super().change_view(request, object_id, form_url, extra)


def _control(model_admin: MediaAssetAdmin, request: HttpRequest, asset_id: int, action: str):
    asset = model_admin._asset(request, asset_id)
    service, done = {
        "retry": (services.asset_retry, _("Retry: done.")),
        "cancel": (services.asset_cancel, _("Cancel: done.")),
        "reencode": (services.asset_reencode, _("Re-encode: done.")),
    }.get(action, (None, ""))
    if service is None:
        raise DjangoPermissionDenied
    try:
        service(asset=asset)
        model_admin.message_user(request, done, messages.SUCCESS)
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
    return HttpResponseRedirect(reverse("admin:media_mediaasset_change", args=[asset_id]))


def _subtitles(model_admin: MediaAssetAdmin, request: HttpRequest, asset_id: int):
    asset = model_admin._asset(request, asset_id)
    form = SubtitleForm(request.POST, request.FILES)
    if not form.is_valid():
        model_admin.message_user(
            request,
            _("Subtitles not added: %(errors)s") % {"errors": form.errors.as_text()},
            messages.ERROR,
        )
    else:
        try:
            subtitles.subtitle_put(
                asset=asset,
                language=form.cleaned_data["language"],
                label=form.cleaned_data["label"],
                upload=form.cleaned_data["file"],
            )
            model_admin.message_user(request, _("Subtitles saved."), messages.SUCCESS)
        except DomainError as exc:
            model_admin.message_user(request, exc.message, messages.ERROR)
    return HttpResponseRedirect(reverse("admin:media_mediaasset_change", args=[asset_id]))
