"""Artwork: posters, backdrops and logos, each stored in several sizes."""

from __future__ import annotations

from django.db import models


def artwork_path(instance: Artwork, filename: str) -> str:
    return f"artwork/{instance.title_id}/{instance.kind}-{instance.size}-{filename}"


class Artwork(models.Model):
    class Kind(models.TextChoices):
        POSTER = "poster", "Poster"
        BACKDROP = "backdrop", "Backdrop"
        LOGO = "logo", "Logo"

    class Size(models.TextChoices):
        SMALL = "sm", "Small"
        MEDIUM = "md", "Medium"
        LARGE = "lg", "Large"

    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="artwork")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    size = models.CharField(max_length=2, choices=Size.choices)
    image = models.ImageField(upload_to=artwork_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["title_id", "kind", "size"]
        constraints = [
            models.UniqueConstraint(fields=["title", "kind", "size"], name="catalog_artwork_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.size} of {self.title_id}"
