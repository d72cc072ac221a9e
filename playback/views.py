"""Playback pages: the watch page (player), the stream-limit page, the per-session master
playlist, and the viewer's own activity pages (My List and thumbs forms, viewing history).
Media itself is never served here: the edges and the origin (nginx) serve it, and in
development the cdn app's one signed-media view."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import request_profile
from catalog import selectors as catalog_selectors
from catalog.models import Episode, Title
from catalog.selectors.viewer import request_viewer, viewer_for_profile
from catalog.views import nav_context as catalog_nav
from playback import ports
from playback import selectors as playback_selectors
from playback.apis.sessions import client_ip, device_label, started_payload
from playback.services import activity
from playback.services import sessions as services
from streamsite.errors import Conflict


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
        "back_url": back_url(request, title),
        "next_episode_url": (
            reverse("playback:watch-episode", args=[title.pk, next_episode.pk])
            if next_episode
            else None
        ),
        "hls_url": static("vendor/hls/hls.min.js"),
        "labels": player_labels(),
    }
    heading = title.name
    if started.session.episode is not None:
        ep = started.session.episode
        heading = f"{title.name} · S{ep.season.number}:E{ep.number} {ep.name}"
    return render(
        request, "playback/watch.html", {"title": title, "heading": heading, "config": config}
    )


def player_labels() -> dict[str, str]:
    """What the player's script writes on screen, in the request's language (the script has no
    catalogue of its own). `%(name)s` placeholders are filled in by the script."""
    return {
        "unsupported_title": _("This browser can't play this video"),
        "unsupported_body": _(
            "Streamsite needs a browser with Media Source Extensions (any current Chrome, "
            "Firefox, Edge or Safari). Please update your browser and try again."
        ),
        "expired_title": _("This video link has expired"),
        "expired_body": _(
            "For your security, video links only last a while. Reload to get a fresh one."
        ),
        "missing_title": _("This video isn't available right now"),
        "missing_body": _(
            "We couldn't find part of this video. Try again in a little while, or pick "
            "something else to watch."
        ),
        "reconnecting_title": _("Reconnecting…"),
        "reconnecting_body": _("We lost the connection to the video. Retrying in %(seconds)s s."),
        "failed_title": _("Something went wrong playing this video"),
        "failed_body": _(
            "Check your connection, then try again. If it keeps happening, pick another title "
            "and come back later."
        ),
        "failed_short": _("Check your connection and try again."),
        "stopped_title": _("Playback stopped"),
        "stopped_body": _("This stream was stopped."),
        "auto": _("Auto"),
        "auto_level": _("Auto (%(height)sp)"),
        "subtitles_off": _("Subtitles off"),
        "track": _("Track %(number)s"),
        "play": _("Play"),
        "pause": _("Pause"),
        "mute": _("Mute"),
        "unmute": _("Unmute"),
    }


def back_url(request: HttpRequest, title: Title) -> str:
    """Where the player's Back goes: the page the viewer came from (the Referer, when it is a
    page of this site other than a player), else the title's page."""
    referer = request.headers.get("Referer", "")
    parts = urlsplit(referer)
    came_from = parts.path + (f"?{parts.query}" if parts.query else "")
    if (
        referer
        and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and parts.path.startswith("/")
        and not parts.path.startswith(("/watch/", "/profiles/", "/login/"))
    ):
        return came_from
    return reverse("catalog:title", args=[title.slug])


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
def master_playlist(request: HttpRequest, signed: str) -> HttpResponse:
    """The session's master playlist: a signed link (cdn.signing), renditions capped by the
    plan, each listed on every ranked edge."""
    text = services.master_playlist(signed=signed, client_ip=client_ip(request))
    return HttpResponse(text, content_type="application/vnd.apple.mpegurl")


# --- the viewer's own activity (forms on the title page, the history page) -----------------
def _profile_or_redirect(request: HttpRequest, title: Title) -> Any:
    profile = request_profile(request, required=False) if request.user.is_authenticated else None
    if profile is None:
        messages.warning(request, _("Choose a profile first: My List and ratings are per profile."))
    return profile


@require_POST
def my_list_toggle(request: HttpRequest, slug: str) -> HttpResponse:
    title = catalog_selectors.title_detail(request_viewer(request), slug=slug)
    profile = _profile_or_redirect(request, title)
    if profile is not None:
        if request.POST.get("action") == "remove":
            activity.my_list_remove(profile=profile, title=title)
            messages.success(request, _("Removed %(title)s from My List.") % {"title": title.name})
        else:
            activity.my_list_add(profile=profile, title=title)
            messages.success(request, _("Added %(title)s to My List.") % {"title": title.name})
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
            messages.error(request, _("A rating is thumbs up or thumbs down."))
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
        messages.success(
            request, _("Removed %(title)s from your viewing history.") % {"title": title.name}
        )
    else:
        messages.info(
            request, _("%(title)s was not in your viewing history.") % {"title": title.name}
        )
    return redirect("playback:history")
