"""Playback reads: a profile's viewing activity, where Play goes and where it stopped."""

from playback.selectors.activity import (
    continue_watching,
    history,
    my_list,
    next_episode,
    progress,
    ratings,
    title_state,
)
from playback.selectors.sessions import play_url, resume_point

__all__ = [
    "continue_watching",
    "history",
    "my_list",
    "next_episode",
    "play_url",
    "progress",
    "ratings",
    "resume_point",
    "title_state",
]
