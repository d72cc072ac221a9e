"""Staff pages (sites and edges, coverage-zone import, "where would this IP go?") and
development's one signed-media view (nginx serves media everywhere else)."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from cdn import selectors, services, signing
from cdn.models import EdgeContent
from cdn.steering import holder
from streamsite import roles
from streamsite.client_address import client_address
from streamsite.errors import DomainError, PermissionDenied
from streamsite.roles import staff_page


class WhereForm(forms.Form):
    client_ip = forms.GenericIPAddressField(label=gettext_lazy("Client IP"))
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        required=False,
        help_text=gettext_lazy("ISO code, optional"),
    )
    content_key = forms.RegexField(
        regex=signing.PREFIX_RE,
        label=gettext_lazy("Content key"),
        initial="hls/demo/v1/",
        help_text="hls/<asset>/<version>/",
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
    file = forms.FileField(
        label=gettext_lazy("File"), help_text=gettext_lazy("Traffic Control coverage-zone JSON")
    )


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
                request,
                _("Imported %(zones)s networks for %(sites)s sites.")
                % {"zones": result["zones"], "sites": result["sites"]},
            )
            return redirect("cdn:sites")
    status = 400 if request.method == "POST" else 200
    return render(request, "cdn/import.html", {"form": form}, status=status)


CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".aac": "audio/aac",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_safe
def signed_media(request: HttpRequest, signed: str) -> HttpResponseBase:
    """Development's one media server: a file under a signed scope from MEDIA_ROOT, with HTTP
    Range, checked by cdn.signing exactly as the edges' and the origin's nginx check it (403,
    410 when expired). Off in production (CDN_SERVE_MEDIA): nginx serves media there."""
    if not settings.CDN_SERVE_MEDIA:
        raise Http404("Media is served by the web server in this deployment.")
    try:
        verified = signing.verify_path(signed, client_ip=client_address(request))
    except PermissionDenied as exc:
        expired = exc.code == "expired"
        return HttpResponse(
            "This media link has expired." if expired else "Invalid media link.",
            status=410 if expired else 403,
            content_type="text/plain",
        )
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / verified.path).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("No such media file.")
    content_type = CONTENT_TYPES.get(path.suffix) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    size = path.stat().st_size
    header = request.headers.get("Range", "")
    if not header:
        response: HttpResponseBase = FileResponse(path.open("rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        response["Content-Length"] = str(size)
        return response
    return _byte_range(path, header=header, size=size, content_type=content_type)


def _byte_range(path: Path, *, header: str, size: int, content_type: str) -> HttpResponse:
    """206 with the bytes asked for (`a-b`, `a-`, or the last `-n`); 416 when unsatisfiable."""
    match = _RANGE.match(header.strip())
    start = end = None
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(match.group(2)))
            end = size - 1
        end = min(end, size - 1)
    if start is None or end is None or start > end or start >= size:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    length = end - start + 1
    with path.open("rb") as handle:
        handle.seek(start)
        body = handle.read(length)
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response
