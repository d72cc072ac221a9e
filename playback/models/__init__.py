"""Playback models, one module per area; re-exported here so Django finds them."""

from playback.models.activity import MyListEntry, Progress, ThumbRating, ViewingEvent
from playback.models.qoe import QoeMinute, QoeSession
from playback.models.sessions import PlaybackAccountLock, PlaybackSession

__all__ = [
    "MyListEntry",
    "PlaybackAccountLock",
    "PlaybackSession",
    "Progress",
    "QoeMinute",
    "QoeSession",
    "ThumbRating",
    "ViewingEvent",
]
