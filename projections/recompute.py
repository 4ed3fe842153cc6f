"""A loan's read-model rows recomputed in memory, and compared cell by cell with others.

:class:`Recomputer` holds one instance of every projection class (the same ``apply``,
``after`` and ``write`` as the projector runs) on an in-memory SQLite database
(:class:`MemorySql`): it folds one loan's events from the first one and returns the rows each
table of the projection would hold for that loan; nothing is written to the store.
:func:`differing_cells` lists where two sets of rows of one table differ.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ledger.adapters.sql import Cursor, Sql
from projections import PROJECTIONS
from projections.facts import Fact

Rows = list[tuple[Any, ...]]


class MemorySql(Sql):
    """An in-memory SQLite database behind :class:`Sql`'s interface: the projections write
    what they recompute here, never in the store."""

    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:", isolation_level=None)
        self.datastore = None
        self.is_postgres = False
        self.prefix = ""

    def cursor(self) -> Cursor:
        return Cursor(self.connection.cursor(), self)


@dataclass(frozen=True)
class Shape:
    """A table a projection keeps per loan: its name, columns and key (``loan_id`` first)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def is_fold(self) -> bool:
        return self.name.endswith("_folds")

    def key_of(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[self.columns.index(k)] for k in self.key)

    def label(self, key: tuple[Any, ...]) -> str:
        """The row as a reader names it: ``k=3``, ``month=2026-02``, ``fold``, ``row``."""
        parts = [f"{k}={v}" for k, v in zip(self.key, key, strict=True) if k != "loan_id"]
        return " ".join(parts) or ("fold" if self.is_fold else "row")


class Recomputer:
    """One instance of every projection class on a :class:`MemorySql`, with the shape of
    each table it keeps per loan (in the order of its ``loan_tables()``)."""

    def __init__(self) -> None:
        self.sql = MemorySql()
        self.c = self.sql.cursor()
        self.projections = {name: cls(self.sql) for name, cls in PROJECTIONS.items()}
        self.shapes: dict[str, list[Shape]] = {}
        for name, projection in self.projections.items():
            projection.create(self.c)
            orders = dict(projection.tables())
            self.shapes[name] = [
                Shape(table, self._columns(table), tuple(orders[table].split(", ")))
                for table in projection.loan_tables()
            ]

    def _columns(self, table: str) -> tuple[str, ...]:
        self.c.execute(f"PRAGMA table_info({table})")
        return tuple(str(r[1]) for r in self.c.fetchall())

    def rows(self, name: str, facts: list[Fact]) -> list[Rows]:
        """The rows of each of the projection's loan tables once ``facts`` (one loan's, from
        its first event) are applied, in the shapes' order; the memory is emptied after."""
        projection = self.projections[name]
        try:
            if facts:
                projection.apply(facts, self.c)
            result = []
            for shape in self.shapes[name]:
                self.c.execute(f"SELECT {', '.join(shape.columns)} FROM {shape.name}")
                result.append(self.c.fetchall())
            return result
        finally:
            projection.clear(self.c)


def differing_cells(
    shape: Shape, stored: Rows, recomputed: Rows
) -> Iterator[tuple[str, str, Any, Any]]:
    """``(row, column, stored, recomputed)`` for each cell that differs, row by row (by the
    table's key) and column by column; a fold's JSON state key by key (column
    ``state.<key>``). A row only one side has is column ``(row)``, ``present``/``absent``."""
    a = {shape.key_of(r): r for r in stored}
    b = {shape.key_of(r): r for r in recomputed}
    for key in sorted(a.keys() | b.keys()):
        row = shape.label(key)
        if key not in a or key not in b:
            there, missing = ("present", "absent") if key in a else ("absent", "present")
            yield row, "(row)", there, missing
            continue
        for column, x, y in zip(shape.columns, a[key], b[key], strict=True):
            if x == y:
                continue
            if column == "state" and shape.is_fold:
                for part, s, r in _state_differences(x, y):
                    yield row, part, s, r
            else:
                yield row, column, x, y


def _state_differences(stored: Any, recomputed: str) -> Iterator[tuple[str, Any, Any]]:
    try:
        a = json.loads(stored)
        if not isinstance(a, dict):
            raise ValueError("not an object")
    except (TypeError, ValueError):
        yield "state", stored, recomputed
        return
    b = json.loads(recomputed)
    for k in sorted(a.keys() | b.keys()):
        if a.get(k) != b.get(k):
            yield f"state.{k}", a.get(k), b.get(k)
