"""Playback pages: the watch page (player), the stream-limit page, the per-session master
playlist, signed media delivery with HTTP Range for the demo (nginx in production), and the
viewer's own activity pages (My List and thumbs forms, viewing history)."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe

from accounts.selectors import request_profile
from catalog import selectors as catalog_selectors
from catalog.models import Episode, Title
from catalog.selectors.viewer import request_viewer, viewer_for_profile
from catalog.views import nav_context as catalog_nav
from cdn import views as cdn_views
from playback import ports
from playback import selectors as playback_selectors
from playback.apis.sessions import client_ip, device_label, started_payload
from playback.services import activity
from playback.services import sessions as services
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
            "playback/watch_limit.html",
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
        **{
            k: v
            for k, v in payload.items()
            if k not in ("lease_expires_at", "media_tokens_expire_at")
        },
        "csrf_token": get_token(request),
        "back_url": reverse("home"),
        "next_episode_url": (
            reverse("playback:watch-episode", args=[title.pk, next_episode.pk])
            if next_episode
            else None
        ),
        "hls_url": static("vendor/hls/hls.min.js"),
    }
    heading = title.name
    if started.session.episode is not None:
        ep = started.session.episode
        heading = f"{title.name} · S{ep.season.number}:E{ep.number} {ep.name}"
    return render(
        request, "playback/watch.html", {"title": title, "heading": heading, "config": config}
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


@csrf_exempt  # GET only, authorised by its signature: any other method is a plain 405
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


# --- the viewer's own activity (forms on the title page, the history page) -----------------
def _profile_or_redirect(request: HttpRequest, title: Title) -> Any:
    profile = request_profile(request, required=False) if request.user.is_authenticated else None
    if profile is None:
        messages.warning(request, "Choose a profile first: My List and ratings are per profile.")
    return profile


@require_POST
def my_list_toggle(request: HttpRequest, slug: str) -> HttpResponse:
    title = catalog_selectors.title_detail(request_viewer(request), slug=slug)
    profile = _profile_or_redirect(request, title)
    if profile is not None:
        if request.POST.get("action") == "remove":
            activity.my_list_remove(profile=profile, title=title)
            messages.success(request, f"Removed {title.name} from My List.")
        else:
            activity.my_list_add(profile=profile, title=title)
            messages.success(request, f"Added {title.name} to My List.")
    return redirect("catalog:title", slug=title.slug)


@require_POST
def rate(request: HttpRequest, slug: str) -> HttpResponse:
    title = catalog_selectors.title_detail(request_viewer(request), slug=slug)
    profile = _profile_or_redirect(request, title)
    if profile is not None:
        value = request.POST.get("value", "")
        if value == "clear":
            activity.rating_clear(profile=profile, title=title)
        elif value in ("1", "-1"):
            activity.rate(profile=profile, title=title, value=int(value))
        else:
            messages.error(request, "A rating is thumbs up or thumbs down.")
            return redirect("catalog:title", slug=title.slug)
    return redirect("catalog:title", slug=title.slug)


HISTORY_LIMIT = 200


def history(request: HttpRequest) -> HttpResponse:
    """What this profile watched, one row per title (latest first), each removable."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.path)
    profile = request_profile(request, required=False)
    if profile is None:
        return redirect(f"/profiles/?next={request.path}")
    seen: dict[int, Any] = {}
    for row in playback_selectors.progress(profile)[:HISTORY_LIMIT]:
        seen.setdefault(row.title_id, row)  # newest first: the first row of a title is its latest
    return render(
        request,
        "playback/history.html",
        {"rows": list(seen.values()), "profile": profile, **catalog_nav(request)},
    )


@require_POST
def history_remove(request: HttpRequest, slug: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("playback:history"))
    profile = request_profile(request, required=False)
    if profile is None:
        return redirect("/profiles/?next=/history")
    title = catalog_selectors.title_detail(viewer_for_profile(profile), slug=slug)
    if activity.history_delete(profile=profile, title=title):
        messages.success(request, f"Removed {title.name} from your viewing history.")
    else:
        messages.info(request, f"{title.name} was not in your viewing history.")
    return redirect("playback:history")
