"""Staff pages (sites and edges, coverage-zone import, "where would this IP go?") and the demo's
signed media serving."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cdn import selectors, services, signing
from cdn.models import EdgeContent
from cdn.steering import holder
from streamsite import roles
from streamsite.client_address import client_address
from streamsite.errors import DomainError, PermissionDenied
from streamsite.roles import staff_page


class WhereForm(forms.Form):
    client_ip = forms.GenericIPAddressField(label="Client IP")
    country = forms.CharField(max_length=2, required=False, help_text="ISO code, optional")
    content_key = forms.RegexField(
        regex=signing.PREFIX_RE, initial="hls/demo/v1/", help_text="hls/<asset>/<version>/"
    )


@staff_page(roles.can_view_cdn)
def where(request: HttpRequest) -> HttpResponse:
    form = WhereForm(request.GET or None)
    decision = None
    if form.is_valid():
        try:
            decision = holder.get().steer(
                client_ip=form.cleaned_data["client_ip"],
                content_key=form.cleaned_data["content_key"],
                country=form.cleaned_data["country"] or None,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return render(request, "cdn/where.html", {"form": form, "decision": decision})


@staff_page(roles.can_view_cdn)
def sites(request: HttpRequest) -> HttpResponse:
    rows = selectors.site_list().annotate(
        zones=Count("coverage_zones", distinct=True),
    )
    held = {
        row["edge_id"]: row
        for row in EdgeContent.objects.filter(status=EdgeContent.Status.DONE)
        .values("edge_id")
        .annotate(keys=Count("id"), bytes=Sum("bytes_done"))
    }
    for site in rows:
        for edge in site.edges.all():
            edge.held = held.get(edge.id, {"keys": 0, "bytes": 0})  # type: ignore[attr-defined]
    return render(request, "cdn/sites.html", {"sites": rows, "origin": settings.CDN_ORIGIN_URL})


class ImportForm(forms.Form):
    file = forms.FileField(help_text="Traffic Control coverage-zone JSON")


@staff_page(roles.can_import_coverage)
@require_http_methods(["GET", "POST"])
def coverage_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.coverage_zones_import(data=form.cleaned_data["file"].read())
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(
                request, f"Imported {result['zones']} networks for {result['sites']} sites."
            )
            return redirect("cdn:sites")
    status = 400 if request.method == "POST" else 200
    return render(request, "cdn/import.html", {"form": form}, status=status)


def signed_media(request: HttpRequest, signed: str) -> HttpResponseBase:
    """Serve a file under a signed prefix from MEDIA_ROOT (make demo; nginx does this in prod)."""
    serve = settings.CDN_SERVE_MEDIA
    if not (settings.DEBUG if serve is None else serve):
        raise Http404
    try:
        verified = signing.verify_path(signed, client_ip=client_address(request))
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=410 if exc.code == "expired" else 403)
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / verified.path).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404
    content_type = mimetypes.guess_type(path.name)[0]
    if path.suffix == ".m3u8":
        content_type = "application/vnd.apple.mpegurl"
    return FileResponse(path.open("rb"), content_type=content_type or "application/octet-stream")
