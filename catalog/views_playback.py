"""Playback pages: the watch page (player), the stream-limit page, the per-session master
playlist, and signed media delivery with HTTP Range for the demo (nginx in production)."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from catalog import playback_ports as ports
from catalog.apis_playback import client_ip, device_label, started_payload
from catalog.models import Episode, Title
from catalog.services import playback as services
from cdn import views as cdn_views
from streamsite.errors import Conflict, PermissionDenied

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


@never_cache
@login_required
def watch(request: HttpRequest, title_id: int, episode_id: int | None = None) -> HttpResponse:
    title = get_object_or_404(Title, pk=title_id)
    episode = None
    if episode_id is not None:
        episode = get_object_or_404(
            Episode.objects.select_related("season__title"), pk=episode_id, season__title=title
        )
    profile = ports.request_profile(request, required=False)
    if profile is None:  # "Who's watching?" first, then back here
        return redirect(f"{reverse('accounts:picker')}?{urlencode({'next': request.path})}")
    try:
        started = services.session_start(
            account=request.user,  # type: ignore[arg-type]
            profile=profile,
            title=title,
            episode=episode,
            device=device_label(request),
            client_ip=client_ip(request),
        )
    except Conflict as exc:
        if exc.code != "too_many_streams":
            raise
        sessions = services.live_sessions(account=request.user)  # type: ignore[arg-type]
        return render(
            request,
            "catalog/watch_limit.html",
            {
                "title": title,
                "sessions": sessions,
                "max_streams": ports.get_entitlements(request.user).max_streams,  # type: ignore[arg-type]
            },
            status=409,
        )
    payload = started_payload(request, started)
    next_episode = started.next_episode
    config = {
        **{k: v for k, v in payload.items() if k != "lease_expires_at"},
        "csrf_token": get_token(request),
        "back_url": reverse("home"),
        "next_episode_url": (
            reverse("watch-episode", args=[title.pk, next_episode.pk]) if next_episode else None
        ),
        "hls_url": static("vendor/hls/hls.min.js"),
    }
    heading = title.name
    if started.session.episode is not None:
        ep = started.session.episode
        heading = f"{title.name} · S{ep.season.number}:E{ep.number} {ep.name}"
    return render(
        request, "catalog/watch.html", {"title": title, "heading": heading, "config": config}
    )


@require_POST
@login_required
def stop_stream(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """The stream-limit page's 'Stop this stream' button (any profile of the account)."""
    services.session_terminate(account=request.user, session_id=session_id)  # type: ignore[arg-type]
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return redirect(target)


@never_cache
@require_GET
def master_playlist(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """The session's master playlist: signed link, renditions capped by the plan."""
    try:
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        raise PermissionDenied("This playback link is not valid.") from None
    text = services.master_playlist(
        session_id=session_id, expires=expires, signature=request.GET.get("sig", "")
    )
    return HttpResponse(text, content_type=CONTENT_TYPES[".m3u8"])


def _media_file(key: str, path: str) -> Path:
    root = (Path(settings.PLAYBACK_MEDIA_ROOT) / key).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("No such media file.")
    return target


@require_safe
def media(request: HttpRequest, signed: str) -> HttpResponseBase:
    """Demo delivery of local assets: cdn.signing checks the token, then the file is served
    with Range support. Other content keys go to the CDN app's own media view. Production
    serves media from nginx / the edges (secure_link) and never reaches here."""
    if not settings.PLAYBACK_SERVE_MEDIA:
        raise Http404("Media is served by the web server in this deployment.")
    try:
        found = ports.local_media_file(f"t/{signed}", client_ip=client_ip(request))
    except PermissionDenied as exc:
        expired = exc.code == "expired"
        return HttpResponse(
            "This media link has expired." if expired else "Invalid media link.",
            status=410 if expired else 403,
            content_type="text/plain",
        )
    if found is None:
        return cdn_views.signed_media(request, f"t/{signed}")
    key, path = found
    target = _media_file(key, path)
    size = target.stat().st_size
    content_type = CONTENT_TYPES.get(target.suffix) or (
        mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    )
    header = request.headers.get("Range", "")
    if not header:
        file_response = FileResponse(target.open("rb"), content_type=content_type)
        file_response["Accept-Ranges"] = "bytes"
        file_response["Content-Length"] = str(size)
        return file_response
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
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    with target.open("rb") as handle:
        handle.seek(start)
        body = handle.read(length)
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response
