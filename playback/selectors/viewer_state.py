"""What the catalogue's pages show of a profile's own viewing, handed to catalog through
CATALOG_HOME_ACTIVITY_PROVIDER and CATALOG_TITLE_ACTIVITY_PROVIDER (catalog never imports
playback)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playback.selectors.activity import continue_watching, my_list, next_episode, title_state
from playback.selectors.sessions import resume_point

if TYPE_CHECKING:
    from accounts.models import Profile
    from catalog.models import Title


def home_activity(profile: Profile) -> dict[str, Any]:
    """The home page's own rows: Continue Watching (progress rows) and My List (titles)."""
    return {
        "continue_watching": continue_watching(profile, limit=16),
        "my_list": [entry.title for entry in my_list(profile)[:20]],
    }


def title_activity(profile: Profile | None, title: Title, *, has_seasons: bool) -> dict[str, Any]:
    """A title page's viewer state: My List and thumbs, where to resume, the episode up next."""
    next_up = next_episode(profile, title) if profile is not None and has_seasons else None
    resume = resume_point(profile, title)
    if resume is not None and resume.episode is not None:
        next_up = resume.episode  # an unfinished episode comes before the next one
    return {"state": title_state(profile, title.pk), "resume": resume, "next_episode": next_up}
