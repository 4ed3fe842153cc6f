"""Exports: the book's read models and its event log as CSV or JSON, streamed.

One :class:`Export` per thing exported says which rows, in what order, with which columns, and
what ``--as-of`` means for it (or why it cannot be honoured); :data:`FORMATS` holds the
writers. ``ledger export NAME`` and ``GET /exports/{name}`` are both made from the registry,
so one more export (the journal, later) is one more :func:`register` (and, for a format of its
own such as beancount, one more :func:`register_format`): a module of this package that
registers them when imported, imported by the package's ``__init__`` with ``book`` (the
command line and the API read the registry when they are imported), its rows read through
:meth:`Source.stream`, its ``needs`` naming the read models (its own projection) to catch up.

Streaming: :func:`open_export` opens one read-only snapshot of the database (see
:class:`ledger.adapters.sql.Snapshot`), reads there the position of the read model the export
comes from, and checks everything that can refuse it; only then is anything written. The rows
are read from a cursor a page at a time and written as they come (a chunk of text at a time),
so memory does not grow with the book. Everything written reflects that one snapshot: the
read model at ``position`` in the event log, ``behind`` loan events before the log's head.

Formats (amounts are exact decimal strings with two decimals, dates ISO):

- ``csv``: a header row of the columns, then one row per record (RFC 4180, the standard
  library's ``csv``; an empty cell is null, booleans ``true``/``false``, an event's data one
  JSON object in its cell);
- ``json``: one JSON document, ``{"export", "as_of", "projection", "position", "behind",
  "columns", "rows": [...], "count"}``, written row by row (``count`` last).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.adapters.sql import STREAM_PAGE, Snapshot, Sql, snapshot
from ledger.domain.errors import CommandRefused, InvalidInput, NotFound
from projections.base import POSITIONS_TABLE, REBUILDING, events_table
from projections.facts import LOAN_TOPICS

CHUNK_BYTES = 64 * 1024  # text written at a time


@dataclass
class Source:
    """What an export reads from: the snapshot, its tables, and the as-of date in force."""

    app: Any
    sql: Sql
    snap: Snapshot
    as_of: date | None
    page: int

    def table(self, name: str) -> str:
        return self.sql.table(name)

    def events(self) -> tuple[str, str]:
        """The events table and its column of positions in the log."""
        return events_table(self.app, self.sql)

    def stream(self, statement: str, params: list[Any] | None = None) -> Iterator[tuple[Any, ...]]:
        return self.snap.stream(statement, params or [], page=self.page)

    def last_business_day(self) -> date | None:
        """The last business day the book has run (the portfolio projection keeps it)."""
        rows = self.snap.query(
            f"SELECT day FROM {self.table('ledger_portfolio_days')} "
            "WHERE name = 'last_business_day'"
        )
        return date.fromisoformat(rows[0][0]) if rows else None


Rows = Callable[[Source], Iterator[dict[str, Any]]]
Resolve = Callable[[Source, date | None, str], date | None]


def _as_given(source: Source, as_of: date | None, what: str) -> date | None:
    return as_of


@dataclass(frozen=True)
class Export:
    """One thing exported: its rows (read from a :class:`Source`, in order, each a dict of
    ``columns``) and what ``as_of`` means (``as_of_means``; ``None``: refused, ``no_as_of``
    says why). ``projection``: the read model whose position the export reflects (``None``:
    the event log itself); ``needs``: every read model caught up before it is read."""

    name: str
    description: str
    columns: tuple[str, ...]
    rows: Rows
    projection: str | None
    needs: tuple[str, ...]
    as_of_means: str | None
    no_as_of: str = ""
    resolve: Resolve = _as_given  # the as-of date in force, checked against the snapshot
    formats: tuple[str, ...] = ("csv", "json")


EXPORTS: dict[str, Export] = {}


def register(export: Export) -> Export:
    EXPORTS[export.name] = export
    return export


def find(name: str) -> Export:
    try:
        return EXPORTS[name]
    except KeyError:
        raise NotFound(f"unknown export {name} (known: {', '.join(EXPORTS)})") from None


@dataclass
class ExportRun:
    """An export opened and checked, ready to stream: :meth:`chunks` writes it, once."""

    export: Export
    format: str
    as_of: date | None
    position: int
    behind: int
    source: Source
    stack: ExitStack
    chunk_bytes: int = CHUNK_BYTES
    count: int = 0
    done: bool = field(default=False)

    @property
    def media_type(self) -> str:
        return FORMATS[self.format].media_type

    @property
    def filename(self) -> str:
        day = self.as_of.isoformat() if self.as_of else "current"
        return f"{self.export.name}-{day}.{FORMATS[self.format].extension}"

    @property
    def pages(self) -> int:
        """Pages of rows fetched from the database so far."""
        return self.source.snap.pages

    def summary(self) -> str:
        where = (
            f"projection {self.export.projection} at position {self.position}, "
            f"{self.behind} events behind the log"
            if self.export.projection
            else f"the event log through position {self.position}"
        )
        as_of = f" as of {self.as_of}" if self.as_of else ""
        return f"exported {self.count} {self.export.name} rows{as_of} ({where})"

    def header(self) -> dict[str, Any]:
        return {
            "export": self.export.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "projection": self.export.projection,
            "position": self.position,
            "behind": self.behind,
            "columns": list(self.export.columns),
        }

    def chunks(self) -> Iterator[str]:
        """The export's text, a chunk at a time; the snapshot is closed at the end (or when
        the consumer stops early)."""
        try:
            if self.done:
                raise RuntimeError("an export is written once")
            self.done = True
            yield from _chunked(FORMATS[self.format].write(self, self._counted()), self)
        finally:
            self.close()

    def _counted(self) -> Iterator[dict[str, Any]]:
        for row in self.export.rows(self.source):
            self.count += 1
            yield row

    def close(self) -> None:
        self.stack.close()


def open_export(
    app: Any,
    name: str,
    fmt: str,
    as_of: date | None = None,
    *,
    as_of_name: str = "--as-of",
    format_name: str = "--format",
    page: int = STREAM_PAGE,
    chunk_bytes: int = CHUNK_BYTES,
) -> ExportRun:
    """Check the export asked for and open its snapshot; raise (writing nothing) when it is
    refused: an unknown export or format, an as-of date it cannot honour or after the business
    date, a read model being rebuilt. The read models in ``needs`` must be caught up by the
    caller (or read as they are: the run reports how far behind they are)."""
    export = find(name)
    if fmt not in export.formats:
        raise InvalidInput(
            f"{format_name} {fmt}: export {name} is written as {' or '.join(export.formats)}"
        )
    if as_of is not None:
        if export.as_of_means is None:
            raise CommandRefused(f"export {name}: {as_of_name} is not supported: {export.no_as_of}")
        app.business_date.check(as_of, as_of_name)
    sql = Sql(app)
    stack = ExitStack()
    try:
        snap = stack.enter_context(snapshot(sql))
        source = Source(app, sql, snap, None, page)
        position, behind = _position(source, export)
        source.as_of = export.resolve(source, as_of, as_of_name)
    except BaseException:
        stack.close()
        raise
    return ExportRun(export, fmt, source.as_of, position, behind, source, stack, chunk_bytes)


def _position(source: Source, export: Export) -> tuple[int, int]:
    """Where the export's read model is in the log, and how many loan events it is behind
    (for the event log itself: its last loan event, 0)."""
    table, column = source.events()
    marks = ",".join("?" * len(LOAN_TOPICS))
    if export.projection is None:
        rows = source.snap.query(
            f"SELECT MAX({column}) AS head FROM {table} WHERE topic IN ({marks})", LOAN_TOPICS
        )
        return int(rows[0][0] or 0), 0
    found = source.snap.query(
        f"SELECT position FROM {source.table(POSITIONS_TABLE)} WHERE name = ?",
        [f"projection:{export.projection}"],
    )
    position = int(found[0][0]) if found else 0
    if position == REBUILDING:
        raise CommandRefused(
            f"export {export.name}: projection {export.projection} is being rebuilt; "
            "run `ledger projections catch-up` (or wait for it) and export again"
        )
    behind = source.snap.query(
        f"SELECT COUNT(*) AS behind FROM {table} WHERE {column} > ? AND topic IN ({marks})",
        [position, *LOAN_TOPICS],
    )
    return position, int(behind[0][0])


# ------------------------------------------------------------------ formats

Writer = Callable[[ExportRun, Iterator[dict[str, Any]]], Iterator[str]]


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    extension: str
    write: Writer  # text pieces (a row, a line); :func:`_chunked` gathers them


def cell(value: Any) -> str:
    """A CSV cell: empty for null, ``true``/``false``, JSON for a structure, else text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def write_csv(run: ExportRun, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = run.export.columns
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone, when there is no row


def write_json(run: ExportRun, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    head = json.dumps(run.header(), ensure_ascii=False)
    yield head[:-1] + ', "rows": ['
    separator = "\n"
    for row in rows:
        yield separator + json.dumps(
            {c: row.get(c) for c in run.export.columns}, ensure_ascii=False
        )
        separator = ",\n"
    yield f'\n], "count": {run.count}}}\n'


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


register_format(Format("csv", "text/csv; charset=utf-8", "csv", write_csv))
register_format(Format("json", "application/json", "json", write_json))


def _chunked(pieces: Iterator[str], run: ExportRun) -> Iterator[str]:
    gathered: list[str] = []
    size = 0
    for piece in pieces:
        gathered.append(piece)
        size += len(piece)
        if size >= run.chunk_bytes:
            yield "".join(gathered)
            gathered, size = [], 0
    if gathered:
        yield "".join(gathered)
