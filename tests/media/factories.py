"""Factories for the media pipeline's tests."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Episode, Season, Title

_seq = itertools.count(1)


def movie(**fields) -> Title:
    n = next(_seq)
    fields.setdefault("name", f"Movie {n}")
    fields.setdefault("slug", f"movie-{n}")
    fields.setdefault("is_published", True)
    return Title.objects.create(kind=Title.Kind.MOVIE, **fields)


def episode() -> Episode:
    n = next(_seq)
    series = Title.objects.create(
        kind=Title.Kind.SERIES, name=f"Series {n}", slug=f"series-{n}", is_published=True
    )
    season = Season.objects.create(title=series, number=1)
    return Episode.objects.create(season=season, number=1, name=f"Pilot {n}")


def upload_of(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="video/mp4")
