"""Writing rows in bulk: COPY on PostgreSQL, bulk_create elsewhere, ids assigned here."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import CommandError
from django.db import connection, models

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return str(value)  # str(): the plain value of a TextChoices member


def _copy_json(value: Any) -> str:
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return _copy_str(json.dumps(value, ensure_ascii=False))


_COPY_FORMATS: dict[type, Any] = {
    type(None): lambda value: "\\N",
    bool: lambda value: "t" if value else "f",
    int: str,
    str: _copy_str,
    datetime: datetime.isoformat,
    dict: _copy_json,
    list: _copy_json,
}


def _copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    kind = type(value)
    format_ = _COPY_FORMATS.get(kind)
    if format_ is None:
        # Subclasses (TextChoices members are str, IntegerChoices are int).
        base = next((b for b in kind.__mro__ if b in _COPY_FORMATS), None)
        if base is None:
            raise TypeError(f"cannot COPY {kind.__name__}")
        format_ = _COPY_FORMATS[kind] = _COPY_FORMATS[base]
    return format_(value)


class Table:
    """One model's rows as tuples in a fixed column order, written in bulk.

    Columns not listed get the field's default, so a field another engineer adds
    (with a default) does not break the generator.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.columns = tuple(columns)
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.columns) - set(fields)
        if unknown:
            raise CommandError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        self.extra = tuple(f for name, f in fields.items() if name not in self.columns)
        self.extra_values = tuple(f.get_default() for f in self.extra)
        self.all_attnames = self.columns + tuple(f.attname for f in self.extra)
        self.db_columns = tuple(fields[name].column for name in self.all_attnames)
        self.copy_suffix = "".join("\t" + _copy_value(v) for v in self.extra_values) + "\n"
        self.rows: list[tuple] = []
        self.sequence: str | None = None

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table

    def next_id(self, cursor) -> int:
        """The first id of this batch (the table is locked by the caller on PostgreSQL)."""
        table = connection.ops.quote_name(self.db_table)
        cursor.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608 - our own table name
        top = cursor.fetchone()[0] or 0
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT last_value, is_called FROM {self._sequence(cursor)}"  # noqa: S608
            )
            last_value, is_called = cursor.fetchone()
            top = max(top, last_value if is_called else last_value - 1)
        return top + 1

    def _sequence(self, cursor) -> str:
        if self.sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.db_table])
            self.sequence = cursor.fetchone()[0]
        return self.sequence

    def flush(self, cursor) -> int:
        """Write the buffered rows; returns how many."""
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            suffix = self.copy_suffix
            buffer = io.StringIO()
            write = buffer.write
            formats = _COPY_FORMATS
            for row in rows:
                try:
                    line = "\t".join([formats[type(v)](v) for v in row])
                except KeyError:
                    line = "\t".join([_copy_value(v) for v in row])
                write(line + suffix)
            buffer.seek(0)
            columns = ", ".join(connection.ops.quote_name(c) for c in self.db_columns)
            cursor.cursor.copy_expert(
                f"COPY {connection.ops.quote_name(self.db_table)} ({columns}) FROM STDIN",
                buffer,
                size=1 << 20,
            )
            # The caller holds the table lock: move the sequence past the ids used.
            cursor.execute("SELECT setval(%s, %s)", [self._sequence(cursor), rows[-1][0]])
        else:
            objects = [
                self.model(**dict(zip(self.all_attnames, row + self.extra_values, strict=True)))
                for row in rows
            ]
            self.model.objects.bulk_create(objects, batch_size=500)
        return len(rows)


def drop_indexes(cursor, models_: Iterable[type[models.Model]]) -> list[str]:
    """Drop secondary indexes, unique and foreign-key constraints; return the SQL to rebuild.

    Loading into bare tables and building each index once afterwards is several
    times faster than maintaining a dozen indexes and checking every foreign key
    row by row (what pg_restore does too). The caller holds one transaction, so a
    failure rolls the drops back with the data.
    """
    indexes: list[str] = []
    constraints: list[str] = []
    foreign_keys: list[str] = []
    for model in models_:
        table = model._meta.db_table
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [quoted],
        )
        for name, kind, definition in cursor.fetchall():
            add = f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} " + (
                definition
            )
            (foreign_keys if kind == "f" else constraints).append(add)
            cursor.execute(
                f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
            [quoted],
        )
        for name, definition in cursor.fetchall():
            indexes.append(definition)
            cursor.execute(f"DROP INDEX {name}")
    return indexes + constraints + foreign_keys


def lock_tables(cursor, tables: Iterable[Table]) -> None:
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(t.db_table) for t in tables)
        # Readers go on; other writers wait until this batch commits.
        cursor.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
