"""Browser pages of the catalogue: home rows, title page, search as you type, genres, A-Z.

The viewer's own activity on them (Continue Watching, My List, thumbs, resume) comes from
providers named in settings, so the catalogue never imports playback."""

from __future__ import annotations

import string
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from billing.selectors import plans_available
from catalog import home_cache, selectors
from catalog.models import Title
from catalog.selectors.home_rows import home_rows_assemble, provided_rows
from catalog.selectors.search import SearchFilters
from catalog.selectors.titles import genre_get, genres_with_counts
from catalog.selectors.viewer import request_viewer
from catalog.view_caching import shared_partial
from streamsite.errors import NotFound

PAGE_SIZE = 48
# New releases and Popular on the signed-in home: short enough to leave titles for the genre
# rows after each title is shown once.
EDITORIAL_ROW_LENGTH = 12


def nav_context(request: HttpRequest) -> dict[str, Any]:
    """The genre menu every page of the site shows (other apps' pages use it too)."""
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


def _provided(setting: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What the provider named by `setting` adds to a page's context; nothing when unset."""
    dotted = getattr(settings, setting, "")
    return import_string(dotted)(*args, **kwargs) if dotted else {}  # type: ignore[no-any-return]


def home(request: HttpRequest) -> HttpResponseBase:
    """The landing page signed out; signed in, the profile's page from its page cache
    (catalog.home_cache), rendered by `_signed_in_home` when that has none current."""
    if not request.user.is_authenticated:
        return _landing(request)
    return home_cache.serve(request, lambda extra: _signed_in_home(request, extra))


def _landing(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    plans = list(plans_available())
    for plan in plans:  # shown in the default currency (prices are prefetched)
        plan.shown_price = plan.price_for(settings.BILLING_DEFAULT_CURRENCY)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "hero": selectors.titles.hero_title(viewer),
        "new_releases": selectors.new_releases(viewer),
        "popular": selectors.popular(viewer),
        "plans": plans,
        **nav_context(request),
    }
    return render(request, "catalog/landing.html", context)


def _signed_in_home(request: HttpRequest, extra: dict[str, Any]) -> HttpResponse:
    """`extra`: what the page cache renders with (a placeholder for the CSRF token)."""
    viewer = request_viewer(request)
    profile = viewer.profile
    context: dict[str, Any] = {
        "hero": selectors.titles.hero_title(viewer),
        "new_releases": selectors.new_releases(viewer),
        "popular": selectors.popular(viewer),
        **nav_context(request),
    }
    kids = profile is not None and profile.is_kids
    min_titles = settings.CATALOG_HOME_ROW_MIN_TITLES
    activity = _provided("CATALOG_HOME_ACTIVITY_PROVIDER", profile) if profile else {}
    page = home_rows_assemble(
        continue_watching=activity.get("continue_watching", []),
        my_list=activity.get("my_list", []),
        recommended_rows=provided_rows(profile),
        new_releases=context["new_releases"][:EDITORIAL_ROW_LENGTH],
        popular=context["popular"][:EDITORIAL_ROW_LENGTH],
        # Kids profiles get a simpler page: their own rows, no genre shelves.
        genre_rows=[] if kids else selectors.genre_rows(viewer, per_row=16, min_titles=min_titles),
        min_titles=min_titles,
    )
    context.update(vars(page))
    context["nothing_to_watch"] = context["hero"] is None and not any(vars(page).values())
    context["hero_play"] = _hero_play(context["hero"], profile, page.continue_watching)
    context["profile"] = profile
    context["kids"] = kids
    return render(request, "catalog/home.html", {**context, **extra})


def _hero_play(hero: Title | None, profile: Any, watching: list[Any]) -> dict[str, str] | None:
    """The banner's Play button: Resume where the profile stopped when the hero is in its
    Continue Watching (that episode, for a series), else Play; None without a video."""
    if hero is None or profile is None:
        return None
    entry = next((p for p in watching if p.title.pk == hero.pk), None)
    url = play_url(hero, profile, getattr(entry, "episode", None))
    if url is None:
        return None
    return {"url": url, "label": gettext("Resume") if entry is not None else gettext("Play")}


def title_detail(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = request_viewer(request)
    title = selectors.title_detail(viewer, slug=slug)
    profile = viewer.profile
    credits = list(title.credits.all())
    seasons = list(title.seasons.all())
    activity = _provided(
        "CATALOG_TITLE_ACTIVITY_PROVIDER", profile, title, has_seasons=bool(seasons)
    )
    next_up = activity.get("next_episode")
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
            "state": activity.get("state"),
            "profile": profile,
            "play_url": play_url(title, profile, next_up),
            "resume": activity.get("resume"),
            "similar": list(selectors.titles.with_artwork(similar)),
            **nav_context(request),
        },
    )


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None


@shared_partial
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
    return render(request, "catalog/search.html", {**context, **nav_context(request)})


def genre(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = request_viewer(request)
    current = genre_get(slug)
    page = Paginator(selectors.titles_in_genre(viewer, current), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "catalog/browse.html",
        {"heading": current.name, "page": page, **nav_context(request)},
    )


def a_to_z(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    letter = request.GET.get("letter", "")[:1].upper()
    if letter and letter not in string.ascii_uppercase and letter != "#":
        raise NotFound(gettext("No such letter."))
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
            **nav_context(request),
        },
    )
