"""Statements built once per model, for the request paths where the ORM's per-call compile is
most of a statement's cost.

`QuerySet.create`, `Model.save` and every queryset compile their SQL on each call: about half a
millisecond of CPU here, more than the database spends on a small statement. What is here
builds the SQL once per model and database vendor, and converts values both ways as the ORM
does, so a hot path can afford its statements:

- `insert_row` and `insert_row_unless` prepare each value as `save()` does
  (`Field.pre_save(obj, add=True)`, then `get_db_prep_save`: defaults, `auto_now_add`, JSON)
  and send `pre_save` and `post_save` (created). They read nothing back: use them only for a
  model whose primary key is set in Python (a UUID default, an id the caller chose).
- `columns` and `from_row` read a model's row out of a hand-written SELECT (joins included) as
  the ORM would load it: each column through the backend's converters, then `Model.from_db`.
- `ValuesQuery` compiles a `values_list` queryset once per database, with a marker where the
  one argument goes, and runs that SQL with each call's argument; its rows come back through
  the compiler's own converters, as the queryset's would.
- `OneTrip` sends several statements to PostgreSQL in one round trip, run in order as one
  transaction: a hot path's whole transaction for the price of one statement's wait.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connections, transaction
from django.db.models import Field, Model, QuerySet
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


def one_trip_possible(using: str = "default") -> bool:
    """Whether `OneTrip` can run on this database: PostgreSQL, through psycopg's client-side
    binding (Django's default: one simple-protocol message carries several statements) or its
    server-side binding (one pipeline). SQLite runs one statement per call: callers keep a
    statement-by-statement path for it."""
    return connections[using].vendor == "postgresql"


@dataclass(frozen=True)
class TripResult:
    rowcount: int
    rows: list[tuple[Any, ...]]


class OneTrip:
    """Statements sent to PostgreSQL together and run in order as one transaction.

    With client-side binding (Django's default) they go as one simple-protocol message, which
    PostgreSQL runs as one implicit transaction. With server-side binding
    (DATABASE_PREPARE_THRESHOLD) they go in one pipeline (psycopg's pipeline mode: each
    statement its own Parse/Bind/Execute, so each can be a prepared statement, and one Sync
    after the last), which PostgreSQL also runs as one implicit transaction. Either way all of
    them commit together when the last succeeds, and an error in any rolls back every one
    (`run` then raises it, as `cursor.execute` would). Under READ COMMITTED each statement
    still takes its own snapshot when it starts, so a statement sees what the ones before it
    did, every commit made before it started, and waits on the row locks they took. Inside an
    atomic block (a caller's transaction, a test's) the statements run in a savepoint of it.

    Only where `one_trip_possible()`. `insert` prepares each value and sends `pre_save` as
    `insert_row` does, and `post_save` after `run` for each row that went in. Parameters are
    adapted as in any other statement of the connection."""

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self._statements: list[tuple[str, list[Any]]] = []
        self._inserts: list[tuple[int, Model]] = []

    def add(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> int:
        """Append one statement (no `;` of its own); its index in `run`'s results."""
        if ";" in sql:
            raise ValueError("one statement per add(), without ';'")
        self._statements.append((sql, list(params)))
        return len(self._statements) - 1

    def insert(
        self,
        obj: Model,
        *,
        unless: tuple[str, list[Any]] | None = None,
        when: tuple[str, list[Any]] | None = None,
    ) -> int:
        """Append `obj`'s INSERT (its primary key already set), made only if the SQL condition
        `when` holds and `unless` does not, read when the statement starts; its index."""
        _before(obj, self.using)
        into, placeholders, values = _prepared(obj, self.using)
        conditions, params = [], list(values)
        if when is not None:
            conditions.append(f"({when[0]})")
            params += when[1]
        if unless is not None:
            conditions.append(f"NOT ({unless[0]})")
            params += unless[1]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        index = self.add(f"{into} SELECT {placeholders}{where}", params)
        self._inserts.append((index, obj))
        return index

    def run(self) -> list[TripResult]:
        """Send every statement in one round trip; each one's row count and rows, in order."""
        if not self._statements:
            return []
        connection = connections[self.using]
        scope = (
            transaction.atomic(using=self.using) if connection.in_atomic_block else nullcontext()
        )
        with scope:
            # A PostgreSQL feature (OneTrip runs on PostgreSQL only).
            if getattr(connection.features, "uses_server_side_binding", False):
                results = self._pipelined(connection)
            else:
                results = self._one_message(connection)
        if len(results) != len(self._statements):
            raise RuntimeError(f"{len(self._statements)} statements sent, {len(results)} results")
        for index, obj in self._inserts:
            if results[index].rowcount == 1:
                _saved(obj, self.using)
        return results

    def _one_message(self, connection: Any) -> list[TripResult]:
        results = []
        with connection.cursor() as cursor:
            cursor.execute(
                ";\n".join(sql for sql, _ in self._statements),
                [value for _, params in self._statements for value in params],
            )
            while True:
                rows = cursor.fetchall() if cursor.description is not None else []
                results.append(TripResult(cursor.rowcount, [tuple(row) for row in rows]))
                if not cursor.nextset():
                    break
        return results

    def _pipelined(self, connection: Any) -> list[TripResult]:
        # One cursor per statement: in a pipeline each execute's results arrive after the
        # Sync, and a cursor keeps only its last statement's. Django's cursors, so the
        # connection's health check, execute wrappers and error wrapping apply as to any query.
        cursors = [connection.cursor() for _ in self._statements]
        try:
            with connection.wrap_database_errors, connection.connection.pipeline():
                for cursor, (sql, params) in zip(cursors, self._statements, strict=True):
                    cursor.execute(sql, params)
            return [
                TripResult(
                    cursor.rowcount,
                    [tuple(row) for row in cursor.fetchall()] if cursor.description else [],
                )
                for cursor in cursors
            ]
        finally:
            for cursor in cursors:
                cursor.close()


def columns(model: type[Model], alias: str, *, using: str = "default") -> str:
    """`alias."col", ...` of every concrete field of `model`, in `from_row`'s order."""
    quote = connections[using].ops.quote_name
    return ", ".join(f"{quote(alias)}.{quote(f.column)}" for f in model._meta.concrete_fields)


@lru_cache(maxsize=256)
def _layout(
    model: type[Model], connection: Any
) -> tuple[int, list[str], tuple[tuple[int, list[Any], Any], ...]]:
    """The primary key's position among the concrete fields, their attnames, and (position,
    converters, expression) of each field whose values the backend converts."""
    fields = model._meta.concrete_fields
    found = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col)
        converters += field.get_db_converters(connection)  # type: ignore[attr-defined]
        if converters:
            found.append((i, converters, col))
    pk_at = list(fields).index(model._meta.pk)  # type: ignore[arg-type]
    return pk_at, [f.attname for f in fields], tuple(found)


def from_row(
    model: type[Model], row: tuple[Any, ...], start: int = 0, *, using: str = "default"
) -> tuple[Model | None, int]:
    """The instance whose `columns(model, ...)` start at `row[start]` (None when a LEFT JOIN
    found none: its primary key is NULL), and where the next model's columns start."""
    connection = connections[using]
    pk_at, attnames, converted = _layout(model, connection)
    end = start + len(attnames)
    values = list(row[start:end])
    if values[pk_at] is None:
        return None, end
    for i, converters, col in converted:
        for convert in converters:
            values[i] = convert(values[i], col, connection)
    return model.from_db(using, attnames, values), end


class ValuesQuery:
    """`build(arg)`'s rows for any integer `arg`, the queryset compiled once per database.

    `build` must return a `values_list` queryset whose SQL has the same shape for every `arg`
    and depends on nothing else that changes (no clock, no setting read per call): it is
    compiled once with MARKER in `arg`'s place, and the marker must land in exactly one
    parameter (checked).
    """

    MARKER = -7_364_019_528_113

    def __init__(self, build: Callable[[int], QuerySet[Any]]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[str, tuple[Any, ...], int, Any, list[Any]]] = {}

    def _compile(self, using: str) -> tuple[str, tuple[Any, ...], int, Any, list[Any]]:
        compiler = self._build(self.MARKER).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        where = [i for i, value in enumerate(params) if value == self.MARKER]
        if len(where) != 1:
            raise ValueError(f"the argument must be exactly one parameter of {sql!r}")
        converters = compiler.get_converters([expression for expression, *_ in compiler.select])
        return sql, tuple(params), where[0], compiler, converters  # type: ignore[return-value]

    def __call__(self, arg: int, *, using: str = "default") -> list[tuple[Any, ...]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        sql, template, at, compiler, converters = compiled
        params = list(template)
        params[at] = int(arg)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows
