"""One model row inserted by a statement built once per model, for the hot write paths.

`QuerySet.create` and `Model.save` compile an INSERT on every call: about half a millisecond
of CPU here, most of what a small insert costs the request. `insert_row` and
`insert_row_unless` build the column list once per model and database vendor and prepare
each value as the ORM does (`Field.pre_save(obj, add=True)`, then `get_db_prep_save`), so
defaults, `auto_now_add` and JSON adapt as they would through `save()`.

They send `pre_save` and `post_save` (created) as `save()` does, and read nothing back: use
them only for a model whose primary key is set in Python (a UUID default, an id the caller
chose), not by the database.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

_statements: dict[tuple[type[Model], str], tuple[str, str, tuple[Field, ...]]] = {}


def _statement(model: type[Model], connection: Any) -> tuple[str, str, tuple[Field, ...]]:
    """(INSERT INTO table (columns), the values' placeholders, the fields in that order), built
    once per model and database vendor."""
    key = (model, connection.vendor)
    if key not in _statements:
        quote = connection.ops.quote_name
        fields = tuple(model._meta.concrete_fields)
        columns = ", ".join(quote(f.column) for f in fields)
        into = f"INSERT INTO {quote(model._meta.db_table)} ({columns})"
        _statements[key] = (into, ", ".join(["%s"] * len(fields)), fields)
    return _statements[key]


def _prepared(obj: Model, using: str) -> tuple[str, str, list[Any]]:
    connection = connections[using]
    into, placeholders, fields = _statement(type(obj), connection)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    return into, placeholders, params


def _before(obj: Model, using: str) -> None:
    pre_save.send(sender=type(obj), instance=obj, raw=False, using=using, update_fields=None)


def _saved(obj: Model, using: str) -> None:
    obj._state.adding = False
    obj._state.db = using
    post_save.send(
        sender=type(obj), instance=obj, created=True, update_fields=None, raw=False, using=using
    )


def insert_row(obj: Model, *, using: str = "default") -> None:
    """INSERT `obj` as one row (its primary key already set)."""
    _before(obj, using)
    into, placeholders, params = _prepared(obj, using)
    with connections[using].cursor() as cursor:
        cursor.execute(f"{into} VALUES ({placeholders})", params)
    _saved(obj, using)


def insert_row_unless(
    obj: Model, refusal: str, params: list[Any], *, using: str = "default"
) -> bool:
    """INSERT `obj` unless the SQL condition `refusal` (with `params`) holds, in one statement;
    whether the row went in. The condition is read in the statement's snapshot: hold whatever
    lock makes it stable (see playback's account lock) before calling this. `pre_save` is sent
    either way, `post_save` only when the row went in."""
    _before(obj, using)
    into, placeholders, values = _prepared(obj, using)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"{into} SELECT {placeholders} WHERE NOT ({refusal})",  # noqa: S608 - our own SQL
            [*values, *params],
        )
        inserted = cursor.rowcount == 1
    if inserted:
        _saved(obj, using)
    return inserted
