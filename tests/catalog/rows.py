"""A recommendations stand-in for the catalogue's page tests: CATALOG_HOME_ROWS_PROVIDER names
`rows_provider`, and a test puts the rows it wants in ROWS (the `provider` fixtures)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    key: str
    label: str
    title_ids: list[int]
    explanation: dict[int, str] = field(default_factory=dict)


ROWS: list[Row] = []
PATH = "tests.catalog.rows.rows_provider"


def rows_provider(profile):
    return ROWS
