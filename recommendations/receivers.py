"""What the recommender does when other apps signal (connected in `apps.py`)."""

from __future__ import annotations

from typing import Any

from recommendations import activity


def fold_imported_activity(sender: Any, *, progress: Any = None, **kwargs: Any) -> None:
    """An import wrote activity in bulk: fold it now, the same scan and batches as the beat
    task, so `recs_train` right after the import starts from folded interactions."""
    activity.fold_pending(progress=progress)
