"""Extra home rows from a provider (recommendations): CATALOG_HOME_ROWS_PROVIDER."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

from catalog.models import Title
from catalog.selectors.titles import visible_cards
from catalog.selectors.viewer import viewer_for_profile

if TYPE_CHECKING:
    from accounts.models import Profile


@dataclass(frozen=True)
class HomeRow:
    key: str
    label: str
    titles: list[Title]
    explanation: dict[int, str] = field(default_factory=dict)


def provided_rows(profile: Profile | None, *, per_row: int = 20) -> list[HomeRow]:
    """Rows from CATALOG_HOME_ROWS_PROVIDER (fn(profile) -> objects with `key`, `label`,
    `title_ids`, `explanation`); none when unset or without a profile.

    All titles of all rows are re-checked against what this profile may see now (availability
    and maturity; `visible_cards`: one query, or none from this process's copies); each row
    keeps the provider's order; an empty row is dropped.
    """
    dotted = getattr(settings, "CATALOG_HOME_ROWS_PROVIDER", "")
    if not dotted or profile is None:
        return []
    raw: list[Any] = list(import_string(dotted)(profile) or [])
    wanted = {int(i) for row in raw for i in list(row.title_ids)[:per_row]}
    if not wanted:
        return []
    by_id = visible_cards(viewer_for_profile(profile), wanted)
    rows = []
    for row in raw:
        titles = [by_id[int(i)] for i in list(row.title_ids)[:per_row] if int(i) in by_id]
        if titles:
            explanation = {
                int(k): str(v) for k, v in (getattr(row, "explanation", {}) or {}).items()
            }
            rows.append(HomeRow(str(row.key), str(row.label), titles, explanation))
    return rows


# --- one page, each title once ------------------------------------------------------------
# A screenful: four posters fill a phone's width (390 px) and most of a tablet's; a row with
# fewer looks broken, so an editorial or personal row that dedup leaves shorter is dropped.
# Continue Watching and My List are the viewer's own and show whatever they hold.
ROW_MIN_TITLES = 4


@dataclass
class HomePage:
    """The home page's rows after `home_rows_assemble`: no title on two cards."""

    continue_watching: list[Any]
    my_list: list[Title]
    recommended_rows: list[HomeRow]
    new_releases: list[Title]
    popular: list[Title]
    genre_rows: list[Any]


def _claim(titles: list[Title], seen: set[int], min_titles: int) -> list[Title]:
    """The titles not yet on the page; claimed only when there are enough to keep the row."""
    fresh = [t for t in titles if t.pk not in seen]
    if len(fresh) < min_titles:
        return []
    seen.update(t.pk for t in fresh)
    return fresh


def home_rows_assemble(
    *,
    continue_watching: list[Any],
    my_list: list[Title],
    recommended_rows: list[HomeRow],
    new_releases: list[Title],
    popular: list[Title],
    genre_rows: list[Any],
    min_titles: int = ROW_MIN_TITLES,
) -> HomePage:
    """Each title at most once per page, in this order of precedence (and of display):
    Continue Watching (`.title` of each entry), My List, personal rows (provider's order), then
    editorial rows: New releases, Popular, genre rows (`.genre`, `.titles`). A row keeps its own
    order; a personal or editorial row left with fewer than `min_titles` is dropped and its
    titles stay free for later rows, unless the page would show no row at all: then New
    releases shows what it has."""
    seen: set[int] = set()
    watching = []
    for entry in continue_watching:
        if entry.title.pk not in seen:
            seen.add(entry.title.pk)
            watching.append(entry)
    saved = _claim(my_list, seen, 1)
    personal = []
    for row in recommended_rows:
        titles = _claim(row.titles, seen, min_titles)
        if titles:
            personal.append(HomeRow(row.key, row.label, titles, row.explanation))
    new = _claim(new_releases, seen, min_titles)
    hits = _claim(popular, seen, min_titles)
    genres = []
    for row in genre_rows:
        titles = _claim(row.titles, seen, min_titles)
        if titles:
            genres.append(replace(row, titles=titles))
    if not (watching or saved or personal or new or hits or genres):
        # A small catalogue (a Kids profile's, a new region's): one short row beats none.
        new = _claim(new_releases, seen, 1)
    return HomePage(watching, saved, personal, new, hits, genres)
