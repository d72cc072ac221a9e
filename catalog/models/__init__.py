"""Catalog models, one module per area; re-exported here so Django finds them."""

from catalog.models.playback import PlaybackAccountLock, PlaybackProgress, PlaybackSession  # noqa: F401
from catalog.models.titles import Episode, Season, Title

__all__ = ["Episode", "Season", "Title"]
