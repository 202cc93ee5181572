"""Mapped rows as the database driver takes them: a tuple of each row's values, converted by the column
types (SQLite's dates become text, JSON documents text), in the upsert statement's order.

Binding is most of what an upsert costs in Python, so a big listing's rows are bound where they are
mapped, in the page workers (tasks/mapped_pages.py), and cross to the run's process ready to write:
tuples of text and numbers, which also unpickle faster than rows of dicts and dates. Rows mapped in
the run's process are bound by the upsert itself, the same way. No engine, no connection and no
Prefect here: a worker knows the database only by its dialect's name ("sqlite+pysqlite").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Sequence

from sqlalchemy import Date, DateTime, Table
from sqlalchemy.engine import URL, Dialect

from models.records import record_hash
from models.targets import TABLES

KEY = "sync_key"
HASH = "record_hash"


class BoundRows:
    """A batch's rows bound for one dialect. A plain class with slots: it crosses from a worker process."""

    __slots__ = ("names", "values")

    def __init__(self, names: tuple[str, ...] = (), values: list[tuple] | None = None):
        self.names = names
        """The columns of each tuple: the sync key first, then the mapped fields, then the record hash."""
        self.values: list[tuple] = values if values is not None else []

    def __len__(self) -> int:
        return len(self.values)

    def keys(self) -> list[str]:
        return [values[0] for values in self.values]

    def extend(self, other: BoundRows) -> None:
        if not other.values:
            return
        if self.values and other.names != self.names:  # the mapper gives every row of a spec the same fields
            raise ValueError(f"rows bound as {other.names} cannot join rows bound as {self.names}")
        self.names = other.names
        self.values += other.values

    def only(self, keep: Callable[[str], bool]) -> BoundRows:
        """The rows whose sync key `keep` accepts."""
        return BoundRows(self.names, [values for values in self.values if keep(values[0])])


def dialect_name(dialect: Dialect) -> str:
    """How a dialect is named to a worker process: "sqlite+pysqlite", "postgresql+psycopg"."""
    return f"{dialect.name}+{dialect.driver}"


@lru_cache(maxsize=4)
def dialect_named(name: str) -> Dialect:
    """A dialect by `dialect_name`, with no engine: its column types' bind processors are the engine's."""
    return URL.create(name).get_dialect()()


def bind_rows(rows: Sequence[dict[str, Any]], target: str, dialect: Dialect) -> BoundRows:
    """`rows` of a `target` bound for `dialect`, each with its `record_hash`."""
    if not rows:
        return BoundRows()
    binder = Binder(TABLES[target].__table__, dialect, row_names(rows[0]))
    return BoundRows(binder.names, binder.bind(rows))


def row_names(row: dict[str, Any]) -> tuple[str, ...]:
    """The columns rows with `row`'s fields are bound as, in one order whichever order the mapper made them in."""
    return (KEY, *sorted(name for name in row if name != KEY), HASH)


class Binder:
    """Binds rows with the same fields, for one table and dialect.

    Its per-row function is written for the columns, as the mapper's `_fast_rows` is for a spec: a
    million-row sync calls it a million times, and the code reads each field once, in C where it can.
    A column whose type converts its values (SQLite's dates and numbers, JSON documents) goes through
    its bind processor; a date repeats from row to row, so each distinct one is converted once a call
    of `bind` (a page, or a batch), and forgotten after it."""

    def __init__(self, table: Table, dialect: Dialect, names: tuple[str, ...]):
        self.names = names
        self.dates: list[dict[Any, Any]] = []
        space: dict[str, Any] = {}
        values = []
        for index, name in enumerate(names):
            if name == HASH:
                values.append("digest")
                continue
            value = f"row[{name!r}]"
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                space[f"convert{index}"] = self._once_each(process) if _is_date(table.c[name].type) else process
                value = f"convert{index}({value})"
            values.append(value)
        exec(compile(f"def bind(row, digest):\n    return ({', '.join(values)},)\n", "<binder>", "exec"), space)
        self.row = space["bind"]

    def bind(self, rows: Sequence[dict[str, Any]]) -> list[tuple]:
        """Each row's values bound, with its `record_hash`."""
        row = self.row
        try:
            return [row(values, record_hash(values)) for values in rows]
        finally:
            for made in self.dates:
                made.clear()

    def _once_each(self, process: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`process`, remembering what it made of each value until the end of a `bind`."""
        made: dict[Any, Any] = {}
        self.dates.append(made)

        def convert(value: Any) -> Any:
            result = made.get(value, _NOT_MADE)
            if result is _NOT_MADE:
                result = made[value] = process(value)
            return result
        return convert


def _is_date(column_type) -> bool:
    """Dates and times, also behind a TypeDecorator (SQLModel's UTCDateTime)."""
    return isinstance(getattr(column_type, "impl_instance", column_type), (Date, DateTime))


_NOT_MADE = object()
