"""Cache invalidation: any write to what the catalogue shows bumps the catalogue version
(catalog.caching), whoever writes it (services, the admin, an import).

Signals cover saves and deletes. Bulk writes (`QuerySet.update`, `bulk_create`) send none, so
the code that uses them on shown rows calls `catalog_changed()` itself: `availability_set`,
`titles_set_published`, the search index refresh (which every importer ends with) and the
popularity recount."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog.caching import catalog_changed
from catalog.models import (
    Artwork,
    Availability,
    Credit,
    Episode,
    ExternalId,
    Genre,
    Person,
    Season,
    Title,
)

SHOWN = (Title, Availability, Artwork, Genre, Person, Credit, Season, Episode, ExternalId)


def _changed(sender: Any, **kwargs: Any) -> None:
    catalog_changed()


def _genres_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        catalog_changed()


def connect() -> None:
    for model in SHOWN:
        post_save.connect(_changed, sender=model, dispatch_uid=f"catalog-version-save-{model}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"catalog-version-del-{model}")
    m2m_changed.connect(
        _genres_changed, sender=Title.genres.through, dispatch_uid="catalog-version-genres"
    )
