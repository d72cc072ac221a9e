"""Signals playback sends for other apps to act on without playback importing them."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after an import wrote viewing activity in bulk (`import_movielens`), outside any
#: transaction. Arguments: `progress`, None or a factory of tqdm-like bars
#: (`progress(total=n, desc=...)`) for receivers with long work. The recommender folds the
#: imported activity into its interactions here, so a training right after an import has
#: nothing left to fold.
activity_imported = Signal()
