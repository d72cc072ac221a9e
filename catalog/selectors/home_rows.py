"""Extra home rows from a provider (recommendations): CATALOG_HOME_ROWS_PROVIDER."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

from catalog.models import Title
from catalog.selectors.titles import titles_for_viewer, with_artwork
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

    All titles of all rows come in one query, re-checked against what this profile may see now
    (availability and maturity); each row keeps the provider's order; an empty row is dropped.
    """
    dotted = getattr(settings, "CATALOG_HOME_ROWS_PROVIDER", "")
    if not dotted or profile is None:
        return []
    raw: list[Any] = list(import_string(dotted)(profile) or [])
    wanted = {int(i) for row in raw for i in list(row.title_ids)[:per_row]}
    if not wanted:
        return []
    visible = titles_for_viewer(viewer_for_profile(profile)).filter(pk__in=wanted)
    by_id = {t.pk: t for t in with_artwork(visible)}
    rows = []
    for row in raw:
        titles = [by_id[int(i)] for i in list(row.title_ids)[:per_row] if int(i) in by_id]
        if titles:
            explanation = {
                int(k): str(v) for k, v in (getattr(row, "explanation", {}) or {}).items()
            }
            rows.append(HomeRow(str(row.key), str(row.label), titles, explanation))
    return rows
