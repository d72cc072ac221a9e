"""Writes of the interaction matrix: upserts of (profile, title) rows, in batches."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from recommendations.models import Interaction
from streamsite.errors import ValidationFailed


@dataclass
class InteractionRow:
    profile_id: int
    title_id: int
    weight: float
    last_at: datetime
    plays: int = 0
    completions: int = 0
    thumb: int = 0
    in_my_list: bool = False


#: the columns one upsert writes, in order; all but the key and `first_at` are replaced on conflict
_UPSERT_COLUMNS = (
    "profile_id",
    "title_id",
    "weight",
    "plays",
    "completions",
    "thumb",
    "in_my_list",
    "first_at",
    "last_at",
)
_UPSERT_REPLACED = ("weight", "plays", "completions", "thumb", "in_my_list", "last_at")


def _upsert_sql() -> str:
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in _UPSERT_COLUMNS)
    marks = ", ".join(["%s"] * len(_UPSERT_COLUMNS))
    sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in _UPSERT_REPLACED)
    # only the model's own table and column names are formatted in; the values are parameters
    return (
        f"INSERT INTO {q(Interaction._meta.db_table)} ({cols}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({q('profile_id')}, {q('title_id')}) DO UPDATE SET {sets}"
    )


#: PostgreSQL: one statement per batch, the columns sent as arrays (`unnest`), not a statement
#: per row
_UPSERT_PG_TYPES = (
    "integer",
    "integer",
    "double precision",
    "integer",
    "integer",
    "smallint",
    "boolean",
    "timestamptz",
    "timestamptz",
)


def _upsert_sql_postgresql() -> str:
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in _UPSERT_COLUMNS)
    arrays = ", ".join(f"%s::{t}[]" for t in _UPSERT_PG_TYPES)
    sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in _UPSERT_REPLACED)
    # only the model's own table and column names are formatted in; the values are parameters
    return (
        f"INSERT INTO {q(Interaction._meta.db_table)} ({cols}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT ({q('profile_id')}, {q('title_id')}) DO UPDATE SET {sets}"
    )


def interactions_upsert(*, rows: Iterable[InteractionRow], batch_size: int = 1000) -> int:
    """Write the current state of (profile, title) signals in bulk upserts; returns rows written.

    The caller aggregates events into absolute values, so replaying a batch is harmless. A new
    row's `first_at` is its `last_at`; an existing row keeps its `first_at` and has every other
    signal replaced.

    One parameterised `INSERT ... ON CONFLICT DO UPDATE` over plain tuples: on PostgreSQL one
    statement per batch reading the columns as arrays (`unnest`), on SQLite `executemany`. The
    same rows as `bulk_create(update_conflicts=True)`, without building a model instance and
    preparing each value through its field (most of a MovieLens-100K fold's CPU, by the
    profile). As with `bulk_create`, a batch must not name a (profile, title) twice.
    """
    adapt_at = connection.ops.adapt_datetimefield_value
    last_at_field = Interaction._meta.get_field("last_at")

    def prepared() -> Iterator[tuple[Any, ...]]:
        for row in rows:
            # a naive time is made aware as the ORM would (with its warning); aware ones go
            # straight
            at = (
                adapt_at(row.last_at)
                if row.last_at.tzinfo
                else last_at_field.get_db_prep_save(row.last_at, connection)
            )
            yield (
                row.profile_id,
                row.title_id,
                row.weight,
                row.plays,
                row.completions,
                row.thumb,
                row.in_my_list,
                at,
            )

    return interactions_upsert_prepared(rows=prepared(), batch_size=batch_size)


def interactions_upsert_prepared(*, rows: Iterable[tuple[Any, ...]], batch_size: int = 1000) -> int:
    """`interactions_upsert` of rows already in the database's terms: tuples of (profile id,
    title id, weight, plays, completions, thumb, in My List, last_at as the database stores
    it). The fold reads its times from the database and writes them back unconverted."""
    postgresql = connection.vendor == "postgresql"
    sql = _upsert_sql_postgresql() if postgresql else _upsert_sql()
    written = 0
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        nonlocal written
        if not batch:
            return
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            if postgresql:
                cursor.execute(sql, [list(column) for column in zip(*batch, strict=True)])
            else:
                cursor.executemany(sql, batch)
        written += len(batch)
        batch.clear()

    for pid, tid, weight, plays, completions, thumb, listed, at in rows:
        if not math.isfinite(weight) or weight < 0:
            # NaN would pass `< 0` and poison every model trained on the row
            raise ValidationFailed(f"weight must be a finite number, not negative, got {weight}")
        batch.append(
            (
                int(pid),
                int(tid),
                float(weight),
                int(plays),
                int(completions),
                int(thumb),
                bool(listed),
                at,
                at,
            )
        )
        if len(batch) >= batch_size:
            flush()
    flush()
    return written
