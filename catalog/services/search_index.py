"""Keeps the search index fresh without blocking writes: writes only set `search_dirty`;
this drains dirty titles in batches (a task after commit, and Celery beat as a sweeper)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Prefetch

from catalog.caching import catalog_changed
from catalog.models import Credit, Title
from catalog.selectors.spelling import vocabulary_forget


def mark_dirty(title_ids: Iterable[int]) -> int:
    """Flag titles whose searchable text changed (people, genres, tags) and schedule a drain."""
    ids = list(title_ids)
    if not ids:
        return 0
    n = Title.objects.filter(pk__in=ids, search_dirty=False).update(search_dirty=True)
    schedule_refresh()
    return n


def schedule_refresh() -> None:
    from catalog.tasks.search import refresh_search_index

    refresh_search_index.delay_on_commit()  # type: ignore[attr-defined]


def build_document(title: Title) -> str:
    """The secondary text a title is found by: its people, genres and tags."""
    people = [credit.person.name for credit in title.credits.all()]
    genres = [genre.name for genre in title.genres.all()]
    tags = [str(tag) for tag in (title.tags or [])]
    return " ".join([*people, *genres, *tags])


def search_index_refresh(*, batch_size: int = 500) -> int:
    """Rebuild up to `batch_size` dirty titles; returns how many were rebuilt.

    The flag is cleared (claimed) before reading, so a write landing meanwhile sets it again and
    the next drain picks the title up: nothing is lost and nothing waits on a lock.
    """
    ids = list(
        Title.objects.filter(search_dirty=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    with transaction.atomic():
        Title.objects.filter(pk__in=ids, search_dirty=True).update(search_dirty=False)
        titles = list(
            Title.objects.filter(pk__in=ids)
            .only("pk", "tags")
            .prefetch_related(
                "genres", Prefetch("credits", queryset=Credit.objects.select_related("person"))
            )
        )
        for title in titles:
            title.search_document = build_document(title)
        Title.objects.bulk_update(titles, ["search_document"], batch_size=500)
        if connection.vendor == "postgresql":
            Title.objects.filter(pk__in=ids).update(
                search_vector=SearchVector("name", weight="A", config="simple")
                + SearchVector("search_document", weight="B", config="simple")
                + SearchVector("synopsis", weight="C", config="simple")
            )
        catalog_changed()  # search results cached before the rebuild are stale now
    vocabulary_forget()
    return len(ids)


def search_index_drain(*, batch_size: int = 500) -> int:
    """Drain everything dirty now (management commands, importers, tests)."""
    total = 0
    while n := search_index_refresh(batch_size=batch_size):
        total += n
    return total
