"""Catalog models, one module per area; re-exported here so Django finds them."""

from catalog.models.media import MediaAsset, Rendition, Subtitle  # noqa: F401
from catalog.models.titles import Episode, Season, Title

__all__ = ["Episode", "Season", "Title"]
