"""Catalogue writes: publishing, availability windows, genres and people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from audit.services import record
from catalog.caching import catalog_changed
from catalog.models import Availability, Genre, Person, Title
from catalog.services.search_index import mark_dirty
from streamsite.errors import ValidationFailed


@transaction.atomic
def titles_set_published(*, title_ids: Iterable[int], published: bool) -> int:
    """Publish or unpublish titles in bulk; returns how many changed (each one audited)."""
    changing = list(
        Title.objects.select_for_update()
        .filter(pk__in=list(title_ids))
        .exclude(is_published=published)
        .order_by("pk")
    )
    Title.objects.filter(pk__in=[t.pk for t in changing]).update(
        is_published=published, updated_at=timezone.now()
    )
    if changing:
        catalog_changed()  # update() sends no post_save (catalog.receivers)
    for title in changing:
        record(
            action="catalog.title_publish" if published else "catalog.title_unpublish",
            obj=title,
            before={"is_published": not published},
            after={"is_published": published},
        )
    return len(changing)


def unique_slug(model: type, base: str, *, max_length: int = 200) -> str:
    """A slug for `base` not used by any row of `model` yet ("name", "name-2", ...)."""
    root = (slugify(base) or "untitled")[:max_length]
    slug, n = root, 1
    while model.objects.filter(slug=slug).exists():  # type: ignore[attr-defined]
        n += 1
        slug = f"{root}-{n}"
    return slug


def genre_get_or_create(*, name: str) -> Genre:
    name = name.strip()
    if not name:
        raise ValidationFailed(gettext("A genre needs a name."))
    genre = Genre.objects.filter(name__iexact=name).first()
    if genre is None:
        genre = Genre.objects.create(name=name, slug=unique_slug(Genre, name, max_length=60))
    return genre


def person_get_or_create(*, name: str) -> Person:
    name = name.strip()
    if not name:
        raise ValidationFailed(gettext("A person needs a name."))
    person = Person.objects.filter(name=name).order_by("pk").first()
    if person is None:
        person = Person.objects.create(name=name, slug=unique_slug(Person, name))
    return person


@transaction.atomic
def availability_set(
    *,
    title: Title,
    windows: Iterable[tuple[str, datetime, datetime | None]],
) -> list[Availability]:
    """Replace a title's licensing windows with (country or "" for everywhere, start, end)."""
    rows = []
    for country, starts_at, ends_at in windows:
        country = (country or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise ValidationFailed(f"Not an ISO country code: {country!r}.")
        if ends_at is not None and ends_at <= starts_at:
            raise ValidationFailed(gettext("A window must end after it starts."))
        rows.append(
            Availability(title=title, country=country, starts_at=starts_at, ends_at=ends_at)
        )
    Availability.objects.filter(title=title).delete()
    created = Availability.objects.bulk_create(rows)
    Title.objects.filter(pk=title.pk).update(updated_at=timezone.now())
    # bulk_create and update send no post_save, and a title with no window before deletes
    # nothing: announce the change here (catalog.receivers)
    catalog_changed()
    return created


def titles_changed(*, title_ids: Iterable[int]) -> None:
    """Credits, genres or tags changed outside Title.save: refresh search for these titles."""
    mark_dirty(title_ids)
