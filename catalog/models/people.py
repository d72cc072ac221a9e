"""People and their credits on titles (cast and crew, with role and billing order)."""

from __future__ import annotations

from django.db import models


class Person(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    bio = models.TextField(blank=True, default="")
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name


class Credit(models.Model):
    class Role(models.TextChoices):
        ACTOR = "actor", "Actor"
        DIRECTOR = "director", "Director"
        WRITER = "writer", "Writer"
        CREATOR = "creator", "Creator"
        PRODUCER = "producer", "Producer"

    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="credits")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="credits")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.ACTOR)
    character = models.CharField(max_length=200, blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["title_id", "role", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["title", "person", "role"], name="catalog_credit_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.role}) in {self.title}"
