"""Titles (movies and series), their seasons and episodes, and their ids in other systems."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from catalog.models.ratings import ContentRating, rating_level


class Title(models.Model):
    class Kind(models.TextChoices):
        MOVIE = "movie", "Movie"
        SERIES = "series", "Series"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MOVIE)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    synopsis = models.TextField(blank=True, default="")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    runtime_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    rating = models.CharField(max_length=8, choices=ContentRating.choices, default=ContentRating.NR)
    # Derived from `rating` on save; profiles compare their maturity against this.
    maturity_level = models.PositiveSmallIntegerField(default=30, db_index=True, editable=False)
    original_language = models.CharField(max_length=16, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    genres = models.ManyToManyField("catalog.Genre", related_name="titles", blank=True)
    # When the title arrived in the catalogue ("new releases" order).
    released_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Popularity: completed views, maintained by the activity services.
    view_count = models.PositiveIntegerField(default=0, db_index=True)

    # Search: a denormalised document (people, genres) rebuilt in batches when dirty;
    # on PostgreSQL also a weighted tsvector with a GIN index (see catalog.services.search).
    search_document = models.TextField(blank=True, default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    search_dirty = models.BooleanField(default=True, db_index=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["is_published", "maturity_level"], name="catalog_title_pub_mat"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Any save may change searchable text; the batched refresh picks it up (never blocks).
        self.maturity_level = rating_level(self.rating)
        self.search_dirty = True
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            fields = set(update_fields)
            if "rating" in fields:
                fields.add("maturity_level")
            fields.update({"updated_at", "search_dirty"})
            kwargs["update_fields"] = fields
        super().save(*args, **kwargs)


class ExternalId(models.Model):
    """The title's id in another system ("movielens" 1, "imdb" tt0114709)."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=32)
    value = models.CharField(max_length=64)

    class Meta:
        ordering = ["source", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "value"], name="catalog_externalid_source_value_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}"


class Season(models.Model):
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="seasons")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["title_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["title", "number"], name="catalog_season_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} S{self.number}"


class Episode(models.Model):
    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="episodes")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    synopsis = models.TextField(blank=True, default="")
    runtime_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    # Markers in seconds from the start: "skip intro" and "next episode" use them.
    intro_start = models.PositiveIntegerField(null=True, blank=True)
    intro_end = models.PositiveIntegerField(null=True, blank=True)
    credits_start = models.PositiveIntegerField(null=True, blank=True)
    credits_end = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["season_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["season", "number"], name="catalog_episode_number_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(intro_start__isnull=True)
                | models.Q(intro_end__isnull=True)
                | models.Q(intro_start__lt=models.F("intro_end")),
                name="catalog_episode_intro_order",
            ),
            models.CheckConstraint(
                condition=models.Q(credits_start__isnull=True)
                | models.Q(credits_end__isnull=True)
                | models.Q(credits_start__lt=models.F("credits_end")),
                name="catalog_episode_credits_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.season} E{self.number} {self.name}"
