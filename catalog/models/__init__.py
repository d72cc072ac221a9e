"""Catalog models, one module per area; re-exported here so Django finds them."""

from catalog.models.playback import PlaybackAccountLock, PlaybackProgress, PlaybackSession
from catalog.models.titles import Episode, Season, Title

__all__ = [
    "Episode",
    "PlaybackAccountLock",
    "PlaybackProgress",
    "PlaybackSession",
    "Season",
    "Title",
]
