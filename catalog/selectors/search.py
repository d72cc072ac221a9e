"""Title search: PostgreSQL full text + trigram similarity, or a plain fallback on SQLite.

The rules of `available_titles` apply first; search only narrows and orders what is visible.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import Case, Count, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from catalog.models import Genre, Title
from catalog.selectors.spelling import corrected_words
from catalog.selectors.titles import titles_for_viewer, with_card_data
from catalog.selectors.viewer import Viewer

# word_similarity(query, name) at or above this counts as a match next to full-text hits...
TRIGRAM_THRESHOLD = 0.6
# ...and when full text finds nothing at all, looser typo matches at or above this.
TRIGRAM_FALLBACK_THRESHOLD = 0.3
# SQLite fallback: difflib ratio for the "did you mean" typo match on names.
FALLBACK_CUTOFF = 0.6


@dataclass
class SearchFilters:
    genre: str | None = None  # genre slug
    kind: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    max_maturity: int | None = None  # narrower than the viewer's own limit, never wider


@dataclass
class Facets:
    genres: list[tuple[str, str, int]] = field(default_factory=list)  # (slug, name, count)
    kinds: dict[str, int] = field(default_factory=dict)
    decades: dict[int, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)


def tokens(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:12]


def apply_filters(qs: QuerySet[Title], filters: SearchFilters) -> QuerySet[Title]:
    if filters.genre:
        qs = qs.filter(genres__slug=filters.genre)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.year_from is not None:
        qs = qs.filter(year__gte=filters.year_from)
    if filters.year_to is not None:
        qs = qs.filter(year__lte=filters.year_to)
    if filters.max_maturity is not None:
        qs = qs.filter(maturity_level__lte=filters.max_maturity)
    return qs


def _exact(q: str, meant: list[list[str]]) -> Case:
    """1 for the title named exactly as typed, or as meant with each typo corrected."""
    names = {q.strip().lower(), " ".join(variants[0] for variants in meant)}
    return Case(
        *[When(name__iexact=name, then=1) for name in sorted(names) if name],
        default=0,
        output_field=IntegerField(),
    )


def _postgres_search(qs: QuerySet[Title], q: str) -> QuerySet[Title]:
    meant = corrected_words(tokens(q))
    # Prefix matching while typing: every word (or the words it may have meant, one typo
    # forgiven) as a prefix of a lexeme.
    raw = " & ".join("(" + " | ".join(f"{w}:*" for w in variants) + ")" for variants in meant)
    query = SearchQuery(raw, search_type="raw", config="simple")
    as_meant = " ".join(variants[0] for variants in meant)
    annotated = qs.annotate(
        exact=_exact(q, meant),
        rank=SearchRank(F("search_vector"), query),
        similarity=TrigramWordSimilarity(as_meant, Lower("name")),
    )
    matched = annotated.filter(Q(search_vector=query) | Q(similarity__gte=TRIGRAM_THRESHOLD))
    if not matched.exists():
        matched = annotated.filter(similarity__gte=TRIGRAM_FALLBACK_THRESHOLD)
    return matched.annotate(score=F("rank") + F("similarity")).order_by(
        "-exact", "-score", "-view_count", "name", "id"
    )


def _fallback_search(qs: QuerySet[Title], q: str) -> QuerySet[Title]:
    meant = corrected_words(tokens(q))
    condition = Q()
    for variants in meant:
        either = Q()
        for word in variants:
            either |= (
                Q(name__icontains=word)
                | Q(search_document__icontains=word)
                | Q(synopsis__icontains=word)
            )
        condition &= either
    matched = qs.filter(condition)
    if not matched.exists():
        # Typo tolerance without trigrams: close matches on the visible names.
        names = dict(qs.values_list("name", "pk"))
        lowered = {n.lower(): pk for n, pk in names.items()}
        close = difflib.get_close_matches(q.lower().strip(), lowered, n=20, cutoff=FALLBACK_CUTOFF)
        matched = qs.filter(pk__in=[lowered[n] for n in close])
    needle = " ".join(variants[0] for variants in meant) or q.strip()
    return matched.annotate(
        exact=_exact(q, meant),
        score=Case(
            When(name__istartswith=needle, then=Value(2.0)),
            When(name__icontains=needle, then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        ),
    ).order_by("-exact", "-score", "-view_count", "name", "id")


def search_titles(viewer: Viewer, q: str, filters: SearchFilters | None = None) -> QuerySet[Title]:
    """Visible titles matching `q` (best first) and the filters; empty q: most popular first."""
    qs = apply_filters(titles_for_viewer(viewer), filters or SearchFilters())
    if not tokens(q):
        return with_card_data(qs.order_by("-view_count", "name", "id"))
    if connection.vendor == "postgresql":
        return with_card_data(_postgres_search(qs, q))
    return with_card_data(_fallback_search(qs, q))


def search_facets(viewer: Viewer, q: str, filters: SearchFilters | None = None) -> Facets:
    """Counts per genre, kind, decade and rating over the titles the search returns."""
    ids = search_titles(viewer, q, filters).order_by().values("pk")
    base = Title.objects.filter(pk__in=ids)
    facets = Facets()
    facets.genres = [
        (g.slug, g.name, g.n)
        for g in Genre.objects.filter(titles__in=ids)
        .annotate(n=Count("titles", distinct=True))
        .order_by("-n", "name")
    ]
    facets.kinds = {
        row["kind"]: row["n"]
        for row in base.order_by().values("kind").annotate(n=Count("id")).order_by("kind")
    }
    for row in base.exclude(year__isnull=True).order_by().values("year").annotate(n=Count("id")):
        decade = row["year"] // 10 * 10
        facets.decades[decade] = facets.decades.get(decade, 0) + row["n"]
    facets.decades = dict(sorted(facets.decades.items()))
    facets.ratings = {
        row["rating"]: row["n"]
        for row in base.order_by().values("rating").annotate(n=Count("id")).order_by("rating")
    }
    return facets
