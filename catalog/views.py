"""Browser pages of the catalogue: home rows, title page, search as you type, genres, A-Z."""

from __future__ import annotations

import string
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from accounts.selectors import request_profile
from billing.selectors import plans_available
from catalog import selectors
from catalog.models import Title
from catalog.selectors.home_rows import provided_rows
from catalog.selectors.playback import resume_point
from catalog.selectors.search import SearchFilters
from catalog.selectors.titles import genre_get, genres_with_counts
from catalog.selectors.viewer import request_viewer, viewer_for_profile
from catalog.services import activity
from streamsite.errors import NotFound

PAGE_SIZE = 48


def _nav(request: HttpRequest) -> dict[str, Any]:
    genres = genres_with_counts(request_viewer(request))
    return {"nav_genres": [g for g in genres if getattr(g, "title_count", 0)]}


def play_url(title: Title, profile: Any, episode: Any = None) -> str | None:
    """Where Play goes: CATALOG_PLAY_URL_PROVIDER (fn(title, profile[, episode])) or None."""
    dotted = getattr(settings, "CATALOG_PLAY_URL_PROVIDER", "")
    if not dotted:
        return None
    provider = import_string(dotted)
    if episode is not None:
        try:
            return provider(title, profile, episode)  # type: ignore[no-any-return]
        except TypeError:  # a provider that only takes (title, profile)
            pass
    return provider(title, profile)  # type: ignore[no-any-return]


def home(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    profile = viewer.profile
    context: dict[str, Any] = {
        "hero": selectors.titles.hero_title(viewer),
        "new_releases": selectors.new_releases(viewer),
        "popular": selectors.popular(viewer),
        **_nav(request),
    }
    if not request.user.is_authenticated:
        plans = list(plans_available())
        for plan in plans:  # shown in the default currency (prices are prefetched)
            plan.shown_price = plan.price_for(settings.BILLING_DEFAULT_CURRENCY)  # type: ignore[attr-defined]
        context["plans"] = plans
        return render(request, "catalog/landing.html", context)
    kids = profile is not None and profile.is_kids
    # Kids profiles get a simpler page: their own rows, no genre shelves.
    context["genre_rows"] = [] if kids else selectors.genre_rows(viewer, per_row=16, min_titles=3)
    if profile is not None:
        context["continue_watching"] = selectors.continue_watching(profile, limit=16)
        context["my_list"] = [entry.title for entry in selectors.my_list(profile)[:20]]
    context["recommended_rows"] = provided_rows(profile)
    context["profile"] = profile
    context["kids"] = kids
    return render(request, "catalog/home.html", context)


def title_detail(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = request_viewer(request)
    title = selectors.title_detail(viewer, slug=slug)
    profile = viewer.profile
    credits = list(title.credits.all())
    seasons = list(title.seasons.all())
    next_up = selectors.next_episode(profile, title) if profile and seasons else None
    resume = resume_point(profile, title)
    if resume is not None and resume.episode is not None:
        next_up = resume.episode  # an unfinished episode comes before the next one
    similar = (
        selectors.titles_for_viewer(viewer)
        .filter(genres__in=[g.pk for g in title.genres.all()])
        .exclude(pk=title.pk)
        .distinct()
        .order_by("-view_count", "name")[:12]
    )
    return render(
        request,
        "catalog/title_detail.html",
        {
            "title": title,
            "cast": [c for c in credits if c.role == "actor"],
            "crew": [c for c in credits if c.role != "actor"],
            "seasons": seasons,
            "next_episode": next_up,
            "state": selectors.title_state(profile, title.pk),
            "profile": profile,
            "play_url": play_url(title, profile, next_up),
            "resume": resume,
            "similar": list(selectors.titles.with_artwork(similar)),
            **_nav(request),
        },
    )


def _profile_or_redirect(request: HttpRequest, title: Title) -> Any:
    profile = request_profile(request, required=False) if request.user.is_authenticated else None
    if profile is None:
        messages.warning(request, "Choose a profile first: My List and ratings are per profile.")
    return profile


@require_POST
def my_list_toggle(request: HttpRequest, slug: str) -> HttpResponse:
    title = selectors.title_detail(request_viewer(request), slug=slug)
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
    title = selectors.title_detail(request_viewer(request), slug=slug)
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


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None


def search(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    q = request.GET.get("q", "")[:200]
    kind = request.GET.get("kind", "")
    filters = SearchFilters(
        genre=request.GET.get("genre") or None,
        kind=kind if kind in Title.Kind.values else None,
        year_from=_int_param(request, "year_from"),
        year_to=_int_param(request, "year_to"),
    )
    results = selectors.search_titles(viewer, q, filters)
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "q": q,
        "filters": filters,
        "page": page,
        "facets": selectors.search_facets(viewer, q, filters),
        "kinds": Title.Kind.choices,
    }
    if request.GET.get("partial"):
        return render(request, "catalog/_search_results.html", context)
    return render(request, "catalog/search.html", {**context, **_nav(request)})


def genre(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = request_viewer(request)
    current = genre_get(slug)
    page = Paginator(selectors.titles_in_genre(viewer, current), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "catalog/browse.html", {"heading": current.name, "page": page, **_nav(request)}
    )


def a_to_z(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    letter = request.GET.get("letter", "")[:1].upper()
    if letter and letter not in string.ascii_uppercase and letter != "#":
        raise NotFound("No such letter.")
    page = Paginator(selectors.titles_a_to_z(viewer, letter=letter or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "catalog/browse.html",
        {
            "heading": f"A–Z{': ' + letter if letter else ''}",
            "page": page,
            "letters": ["#", *string.ascii_uppercase],
            "letter": letter,
            **_nav(request),
        },
    )


HISTORY_LIMIT = 200


def history(request: HttpRequest) -> HttpResponse:
    """What this profile watched, one row per title (latest first), each removable."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.path)
    profile = request_profile(request, required=False)
    if profile is None:
        return redirect(f"/profiles/?next={request.path}")
    seen: dict[int, Any] = {}
    for row in selectors.progress(profile)[:HISTORY_LIMIT]:
        seen.setdefault(row.title_id, row)  # newest first: the first row of a title is its latest
    return render(
        request,
        "catalog/history.html",
        {"rows": list(seen.values()), "profile": profile, **_nav(request)},
    )


@require_POST
def history_remove(request: HttpRequest, slug: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("catalog:history"))
    profile = request_profile(request, required=False)
    if profile is None:
        return redirect("/profiles/?next=/history")
    title = selectors.title_detail(viewer_for_profile(profile), slug=slug)
    if activity.history_delete(profile=profile, title=title):
        messages.success(request, f"Removed {title.name} from your viewing history.")
    else:
        messages.info(request, f"{title.name} was not in your viewing history.")
    return redirect("catalog:history")
