"""Titles (movies and series), their seasons and episodes."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


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

    class Meta:
        ordering = ["season_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["season", "number"], name="catalog_episode_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.season} E{self.number} {self.name}"
