"""Artwork storage: one source image per kind becomes several sizes, saved through the default
storage (local files or S3 via django-storages). Re-storing replaces the earlier files."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from catalog.models import Artwork, Title

# (kind, size) -> width; height follows the source's aspect ratio.
WIDTHS: dict[str, dict[str, int]] = {
    Artwork.Kind.POSTER: {"sm": 160, "md": 320, "lg": 600},
    Artwork.Kind.BACKDROP: {"sm": 480, "md": 960, "lg": 1600},
    Artwork.Kind.LOGO: {"sm": 200, "md": 400, "lg": 800},
}


def _encode(image: Image.Image, kind: str) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if kind == Artwork.Kind.LOGO:
        image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue(), "png"
    image.convert("RGB").save(buffer, "JPEG", quality=84, optimize=True, progressive=True)
    return buffer.getvalue(), "jpg"


@transaction.atomic
def artwork_store(*, title: Title, kind: str, image: Image.Image) -> list[Artwork]:
    """Resize `image` to every size of `kind` and store them; returns the rows, small to large."""
    if kind not in WIDTHS:
        raise ValueError(f"unknown artwork kind {kind!r}")
    rows = []
    for size, width in WIDTHS[kind].items():
        height = round(image.height * width / image.width)
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        data, ext = _encode(resized, kind)
        old = Artwork.objects.filter(title=title, kind=kind, size=size).first()
        if old is not None:
            old.image.delete(save=False)
            old.delete()
        art = Artwork(title=title, kind=kind, size=size)
        art.image.save(f"{title.slug}.{ext}", ContentFile(data), save=False)
        art.width, art.height = resized.size
        art.save()
        rows.append(art)
    return rows
