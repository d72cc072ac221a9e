"""Catalogue reads. `available_titles` is the one place the region/maturity/published rule lives."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import RowNumber, Upper
from django.utils import timezone
from django.utils.translation import gettext

from catalog.caching import cached_fragment, catalog_version, shared_memo_many
from catalog.models import Artwork, Availability, Credit, Episode, Genre, Person, Season, Title
from catalog.selectors.viewer import Viewer, viewer_for_profile
from streamsite.errors import NotFound

if TYPE_CHECKING:
    from accounts.models import Profile


def available_titles(
    *, country: str, max_maturity: int, now: datetime | None = None
) -> QuerySet[Title]:
    """Published titles inside a licensing window for `country` now, rated at most max_maturity.

    A window with an empty country applies everywhere. One query, no joins that multiply rows.
    """
    now = now or timezone.now()
    in_window = Availability.objects.filter(
        title=OuterRef("pk"), country__in=[country.upper(), ""], starts_at__lte=now
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    return Title.objects.filter(
        Exists(in_window), is_published=True, maturity_level__lte=max_maturity
    )


def titles_for_viewer(viewer: Viewer, *, now: datetime | None = None) -> QuerySet[Title]:
    return available_titles(country=viewer.country, max_maturity=viewer.max_maturity, now=now)


def titles_for_profile(profile: Profile, *, now: datetime | None = None) -> QuerySet[Title]:
    """What this profile may see and play: its account's country, its maturity, published."""
    return titles_for_viewer(viewer_for_profile(profile), now=now)


def is_title_available(viewer: Viewer, title_id: int, *, now: datetime | None = None) -> bool:
    return titles_for_viewer(viewer, now=now).filter(pk=title_id).exists()


def with_artwork(qs: QuerySet[Title]) -> QuerySet[Title]:
    """Cards need posters: one extra query for the whole list."""
    return qs.prefetch_related(
        Prefetch("artwork", queryset=Artwork.objects.order_by("kind", "size"))
    )


def with_card_data(qs: QuerySet[Title]) -> QuerySet[Title]:
    return with_artwork(qs).prefetch_related(Prefetch("genres", queryset=Genre.objects.all()))


def artwork_url(title: Title, kind: str = "poster", size: str = "md") -> str:
    """URL of prefetched artwork of this kind, the size asked for or the nearest one."""
    images = [a for a in title.artwork.all() if a.kind == kind]
    for art in sorted(images, key=lambda a: a.size != size):
        return art.image.url
    return ""


def visible_cards(viewer: Viewer, ids: Iterable[int]) -> dict[int, Title]:
    """{id: title with artwork} for those of `ids` this viewer may see now. With the cache on,
    from this process's copies (catalog.caching): the ids the viewer may see are a shared
    fragment, each title a copy kept under the catalogue version; no query when warm. The
    titles may be shared with other threads: callers only read them."""
    ids = list(ids)
    if not settings.CATALOG_CACHE_SECONDS:
        return {t.pk: t for t in with_artwork(titles_for_viewer(viewer).filter(pk__in=ids))}
    visible = _visible_ids(viewer)
    return shared_memo_many(
        "card-title",
        [i for i in ids if i in visible],
        lambda missing: {t.pk: t for t in with_artwork(Title.objects.filter(pk__in=missing))},
    )


def _visible_ids(viewer: Viewer) -> frozenset[int]:
    """The ids of every title `viewer` may see now: a shared fragment (catalog.caching), kept
    under the catalogue version and no later than the next licensing window's edge."""
    return cached_fragment(
        "visible-ids",
        viewer,
        (),
        lambda: frozenset(titles_for_viewer(viewer).values_list("pk", flat=True)),
    )


def title_visible(viewer: Viewer, title_id: int) -> bool:
    """`is_title_available`, from the shared fragment of what the viewer may see when the
    catalogue cache is on and answering (no query when warm), else one EXISTS query (never
    the whole list of ids per call with the cache away)."""
    if settings.CATALOG_CACHE_SECONDS and catalog_version() is not None:
        return title_id in _visible_ids(viewer)
    return is_title_available(viewer, title_id)


def visible_title_copy(viewer: Viewer, title_id: int) -> Title | None:
    """This process's copy of the title (with artwork) when `viewer` may see it now and the
    catalogue cache is on and answering: no query when warm. None when it is not visible or
    the cache is off or away (read the row then). A copy of its own: the caller may keep it."""
    if not settings.CATALOG_CACHE_SECONDS or catalog_version() is None:
        return None
    found = visible_cards(viewer, [title_id]).get(title_id)
    return copy.copy(found) if found is not None else None


def new_releases(viewer: Viewer, *, limit: int = 20) -> list[Title]:
    """Newest first; shared by every viewer of one country and maturity (catalog.caching)."""

    def build() -> list[Title]:
        qs = titles_for_viewer(viewer).order_by("-released_at", "-id")[:limit]
        return list(with_artwork(qs))

    return cached_fragment("new-releases", viewer, (limit,), build)


def popular(viewer: Viewer, *, limit: int = 20) -> list[Title]:
    """Most watched first; shared like new_releases."""

    def build() -> list[Title]:
        qs = titles_for_viewer(viewer).order_by("-view_count", "name", "id")[:limit]
        return list(with_artwork(qs))

    return cached_fragment("popular", viewer, (limit,), build)


@dataclass
class GenreRow:
    genre: Genre
    titles: list[Title]


def genre_rows(viewer: Viewer, *, per_row: int = 12, min_titles: int = 1) -> list[GenreRow]:
    """One row per genre, its most popular titles first: a fixed number of queries, and
    shared by every viewer of one country and maturity (catalog.caching)."""
    return cached_fragment(
        "genre-rows",
        viewer,
        (per_row, min_titles),
        lambda: _genre_rows(viewer, per_row, min_titles),
    )


def _genre_rows(viewer: Viewer, per_row: int, min_titles: int) -> list[GenreRow]:
    through = Title.genres.through
    visible = titles_for_viewer(viewer).values("pk")
    links = list(
        through.objects.filter(title_id__in=visible)
        .annotate(
            rn=Window(
                RowNumber(),
                partition_by=[F("genre_id")],
                order_by=[F("title__view_count").desc(), F("title__name").asc(), F("title_id")],
            )
        )
        .filter(rn__lte=per_row)  # type: ignore[misc]
        .select_related("genre", "title")
        .order_by("genre__name", "rn")
    )
    titles = {link.title_id: link.title for link in links}
    prefetch_related_objects(
        list(titles.values()),
        Prefetch("artwork", queryset=Artwork.objects.order_by("kind", "size")),
    )
    rows: dict[int, GenreRow] = {}
    for link in links:
        row = rows.setdefault(link.genre_id, GenreRow(genre=link.genre, titles=[]))
        row.titles.append(titles[link.title_id])
    return [row for row in rows.values() if len(row.titles) >= min_titles]


def hero_title(viewer: Viewer) -> Title | None:
    """The banner: the most popular title with a backdrop (shared, catalog.caching)."""

    def build() -> list[Title]:  # a list, so that "no hero" is cached too
        qs = (
            titles_for_viewer(viewer)
            .filter(artwork__kind=Artwork.Kind.BACKDROP, artwork__size=Artwork.Size.LARGE)
            .order_by("-view_count", "name", "id")
        )
        return list(with_card_data(qs)[:1])

    found = cached_fragment("hero", viewer, (), build)
    return found[0] if found else None


def titles_a_to_z(viewer: Viewer, *, letter: str | None = None) -> QuerySet[Title]:
    qs = titles_for_viewer(viewer).order_by(Upper("name"), "id")
    if letter == "#":
        qs = qs.filter(name__regex=r"^[^A-Za-z]")
    elif letter:
        qs = qs.filter(name__istartswith=letter[:1])
    return with_artwork(qs)


def titles_in_genre(viewer: Viewer, genre: Genre) -> QuerySet[Title]:
    qs = titles_for_viewer(viewer).filter(genres=genre).order_by("-view_count", "name", "id")
    return with_artwork(qs)


def genre_get(slug: str) -> Genre:
    genre = Genre.objects.filter(slug=slug).first()
    if genre is None:
        raise NotFound(gettext("No such genre."))
    return genre


def genres_with_counts(viewer: Viewer) -> list[Genre]:
    """Every genre with the number of titles this viewer can see in it (title_count); the
    menu of every page, shared (catalog.caching)."""

    def build() -> list[Genre]:
        visible = titles_for_viewer(viewer).values("pk")
        return list(
            Genre.objects.annotate(
                title_count=Count("titles", filter=Q(titles__in=visible), distinct=True)
            ).order_by("name")
        )

    return cached_fragment("genres", viewer, (), build)


def title_detail(viewer: Viewer, *, slug: str | None = None, pk: int | None = None) -> Title:
    """A title with everything its page shows; NotFound when this viewer may not see it."""
    qs = titles_for_viewer(viewer)
    if slug is not None:
        qs = qs.filter(slug=slug)
    elif pk is not None:
        qs = qs.filter(pk=pk)
    else:
        raise NotFound(gettext("No such title."))
    qs = with_artwork(qs).prefetch_related(
        "genres",
        "external_ids",
        Prefetch("credits", queryset=Credit.objects.select_related("person")),
        Prefetch(
            "seasons",
            queryset=Season.objects.prefetch_related(
                Prefetch("episodes", queryset=Episode.objects.order_by("number"))
            ),
        ),
    )
    title = qs.first()
    if title is None:
        raise NotFound(gettext("No such title."))
    return title


def people(q: str = "") -> QuerySet[Person]:
    qs = Person.objects.order_by("name", "id")
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def person_detail(viewer: Viewer, *, pk: int) -> tuple[Person, list[Credit]]:
    """A person and their credits on titles this viewer may see (others stay hidden)."""
    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise NotFound(gettext("No such person."))
    credits = list(
        Credit.objects.filter(person=person, title__in=titles_for_viewer(viewer).values("pk"))
        .select_related("title")
        .order_by("-title__year", "title__name")
    )
    return person, credits
