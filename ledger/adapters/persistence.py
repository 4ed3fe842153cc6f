"""Storage: database URLs, transcodings, and batched reads of many aggregates.

The eventsourcing library stores events; this module adds what a ledger at scale needs on
top of it: a ``date`` transcoding (the library has none), transcodings for the aggregate's
state so snapshots can be taken, and :func:`load_many`, which reads many aggregates with two
queries (latest snapshots, then the events after them) instead of one query per aggregate.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)

from ledger.adapters.codec import LedgerMapper, LedgerTranscoder
from ledger.adapters.snapshots import BadSnapshot, snapshot_problem
from ledger.adapters.sql import STARTUP_LOCK_KEY
from ledger.domain.errors import LedgerError
from ledger.domain.installment import Installment
from ledger.domain.money import fraction_text
from ledger.domain.terms import Terms

DEFAULT_DATABASE_URL = "sqlite:///./ledger.db"
APP_NAME = "Ledger"  # tables: ledger_events, ledger_snapshots


class DateAsISO(Transcoding):
    """``date`` as ``"2026-02-15"`` (exact type match: ``datetime`` has its own)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class FractionAsStr(Transcoding):
    """An exact accrual (``fractions.Fraction``) as ``"27/360"``-style text, always with its
    denominator, so it never reads back as a decimal."""

    type = Fraction
    name = "fraction"

    def encode(self, obj: Fraction) -> str:
        return fraction_text(obj)

    def decode(self, data: str) -> Fraction:
        return Fraction(data)


class TermsAsDict(Transcoding):
    type = Terms
    name = "loan_terms"

    def encode(self, obj: Terms) -> dict[str, object]:
        return obj.as_event_fields()

    def decode(self, data: dict[str, object]) -> Terms:
        return Terms.from_event_fields(data)


class InstallmentAsDict(Transcoding):
    type = Installment
    name = "installment"

    def encode(self, obj: Installment) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Installment:
        return Installment(**data)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Every type the ledger's events and snapshots carry: the library's own (UUID, Decimal,
    datetime) and the ledger's (date, exact accruals, terms, installments)."""
    for transcoding in (
        UUIDAsHex(),
        DecimalAsStr(),
        DatetimeAsISO(),
        DateAsISO(),
        FractionAsStr(),
        TermsAsDict(),
        InstallmentAsDict(),
    ):
        transcoder.register(transcoding)


def ledger_transcoder() -> JSONTranscoder:
    """A transcoder for the ledger's stored events, as the application has it."""
    transcoder = LedgerTranscoder()
    register_transcodings(transcoder)
    return transcoder


def ledger_mapper() -> Mapper[UUID]:
    """The mapper of the ledger's stored events, as the application has it (compact form,
    :mod:`ledger.adapters.codec`)."""
    return LedgerMapper(transcoder=ledger_transcoder())


@dataclass(frozen=True)
class Database:
    """Where the ledger lives, parsed from ``--db`` / ``LEDGER_DATABASE_URL``."""

    url: str
    kind: str  # "sqlite" or "postgres"
    env: dict[str, str]
    schema: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"


def parse_database_url(url: str) -> Database:
    """``sqlite:///path/ledger.db`` or ``postgresql://user@host:port/db[?schema=name]``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise LedgerError(f"bad database URL {url!r}: expected sqlite:///path/ledger.db")
        return Database(
            url=url,
            kind="sqlite",
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path},
        )
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = parsed.path.lstrip("/")
        if not dbname:
            raise LedgerError(f"bad database URL {url!r}: no database name")
        query = parse_qs(parsed.query)
        schema = query.get("schema", [""])[0] or None
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # binary arrays under the library's lock (ledger/adapters/pg_recorder.py), unless
            # the operator names the library's own recorder
            "APPLICATION_RECORDER_TOPIC": os.environ.get(
                "APPLICATION_RECORDER_TOPIC", "ledger.adapters.pg_recorder:BinaryArrayRecorder"
            ),
        }
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return Database(url=url, kind="postgres", env=env, schema=schema)
    raise LedgerError(
        f"unsupported database URL {url!r}: use sqlite:///path or postgresql://user@host/db"
    )


def postgres_conninfo(db: Database) -> str:
    e = db.env
    parts = [
        f"dbname={e['POSTGRES_DBNAME']}",
        f"host={e['POSTGRES_HOST']}",
        f"port={e['POSTGRES_PORT']}",
        f"user={e['POSTGRES_USER']}",
        "connect_timeout=10",
    ]
    if e.get("POSTGRES_PASSWORD"):
        parts.append(f"password={e['POSTGRES_PASSWORD']}")
    return " ".join(parts)


@contextmanager
def startup_lock(db: Database) -> Iterator[None]:
    """Serialise start-up across processes on PostgreSQL.

    The library runs ``CREATE ... IF NOT EXISTS`` / ``CREATE OR REPLACE FUNCTION`` whenever an
    application starts; two sessions doing that at once fail with "tuple concurrently
    updated". A session-level advisory lock makes workers that start together take turns.
    """
    if not db.is_postgres:
        yield
        return
    import psycopg

    with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [STARTUP_LOCK_KEY])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [STARTUP_LOCK_KEY])


def ensure_postgres_schema(db: Database) -> None:
    """The library creates tables but not the schema they live in."""
    if not (db.is_postgres and db.schema):
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(db.schema)))


# --------------------------------------------------------------------------- batched reads


class BatchReader:
    """Reads many aggregates in two queries: latest snapshots, then the events after them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # integrity hooks (:mod:`ledger.adapters.snapshots`, the store's chain check)
        self.on_bad_snapshot: BadSnapshot | None = None
        self.on_events: Callable[[UUID, Any | None, list[Any]], None] | None = None
        self.mapper: Mapper[UUID] = app.mapper
        recorder = app.recorder
        self.events_table = recorder.events_table_name
        self.snapshots_table = (
            app.snapshots.recorder.events_table_name if app.snapshots is not None else None
        )
        self.is_postgres = type(recorder.datastore).__module__ == "eventsourcing.postgres"
        self.datastore = recorder.datastore
        self.schema = getattr(self.datastore, "schema", "") or "public"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, int, str, bytes]]:
        if self.is_postgres:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                # A batch read touches a few thousand rows through the primary key; on a
                # large, not yet analysed table the planner's estimate triggers JIT
                # compilation, which costs more than the query itself.
                curs.execute("SET jit = off")
                curs.execute(sql, params)
                return [
                    (r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in curs.fetchall()
                ]
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(sql, params)
            return [(UUID(r[0]), r[1], r[2], r[3]) for r in curs.fetchall()]

    def _table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.is_postgres else name

    def load_many(self, ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
        """The current state of every aggregate in ``ids`` that exists."""
        if not ids:
            return {}
        states: dict[UUID, Aggregate] = {}
        versions: dict[UUID, int] = dict.fromkeys(ids, 0)
        used: dict[UUID, Any] = {}
        for aggregate_id, snapshot in self.latest_snapshots(ids).items():
            why = snapshot_problem(snapshot)
            if why is not None:  # not trusted: read the loan from all its events
                if why != "unsealed" and self.on_bad_snapshot is not None:
                    self.on_bad_snapshot(aggregate_id, snapshot.originator_version, why)
                continue
            versions[aggregate_id] = snapshot.originator_version
            used[aggregate_id] = snapshot
            states[aggregate_id] = snapshot.mutate(None)
        pending: dict[UUID, list[Any]] = defaultdict(list)
        for row in self._select_events_after(versions):
            pending[row[0]].append(row)
        for aggregate_id, rows in pending.items():
            rows.sort(key=lambda r: r[1])
            aggregate = states.get(aggregate_id)
            events: list[Any] = [self.mapper.to_domain_event(StoredEvent(*row)) for row in rows]
            if self.on_events is not None:
                self.on_events(aggregate_id, used.get(aggregate_id), events)
            for event in events:
                aggregate = event.mutate(aggregate)
            if aggregate is not None:
                states[aggregate_id] = aggregate
        return states

    def latest_snapshots(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """The newest snapshot of every aggregate in ``ids`` that has one, in one query,
        decoded but not checked (:func:`ledger.adapters.snapshots.snapshot_problem`)."""
        newest: dict[UUID, Any] = {}
        if self.snapshots_table is None or not ids:
            return newest
        rows: dict[UUID, tuple[Any, int, str, bytes]] = {}
        for row in self._select_snapshots(ids):
            if row[0] not in rows or row[1] > rows[row[0]][1]:
                rows[row[0]] = row
        for aggregate_id, row in rows.items():  # only the newest is decoded
            newest[aggregate_id] = self.mapper.to_domain_event(StoredEvent(*row))
        return newest

    def versions_of(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """The stored version (newest event) of every aggregate in ``ids`` that has events,
        in one query over the primary key: how a kept loan is found stale."""
        if not ids:
            return {}
        table = self._table(self.events_table)
        if self.is_postgres:  # the newest version of each from the primary key's index
            sql = (
                f"SELECT s.id, (SELECT MAX(e.originator_version) FROM {table} e "
                "WHERE e.originator_id = s.id) AS v FROM unnest(%s::uuid[]) AS s(id)"
            )
            from psycopg.rows import tuple_row

            with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
                c.execute("SET jit = off")  # see _rows
                c.execute(sql, [list(ids)])
                return {r[0]: int(r[1]) for r in c.fetchall() if r[1] is not None}
        marks = ",".join("?" * len(ids))
        sql = (
            f"SELECT originator_id, MAX(originator_version) FROM {table} "
            f"WHERE originator_id IN ({marks}) GROUP BY originator_id"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(sql, [i.hex for i in ids])
            return {UUID(r[0]): int(r[1]) for r in curs.fetchall()}

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
        """Every event of every aggregate in ``ids``, in version order, in one query."""
        by_id: dict[UUID, list[Any]] = {i: [] for i in ids}
        if not ids:
            return by_id
        rows = sorted(self._select_events_after(dict.fromkeys(ids, 0)), key=lambda r: (r[0], r[1]))
        for row in rows:
            by_id[row[0]].append(self.mapper.to_domain_event(StoredEvent(*row)))
        return by_id

    def _select_snapshots(self, ids: Sequence[UUID]) -> Iterable[tuple[Any, int, str, bytes]]:
        assert self.snapshots_table is not None
        table = self._table(self.snapshots_table)
        if self.is_postgres:
            sql = (
                f"SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, "
                f"state FROM {table} WHERE originator_id = ANY(%s) "
                f"ORDER BY originator_id, originator_version DESC"
            )
            return self._rows(sql, [list(ids)])
        marks = ",".join("?" * len(ids))
        # SQLite takes the bare columns of a MAX() aggregate from the row that has the max
        sql = (
            f"SELECT originator_id, MAX(originator_version), topic, state FROM {table} "
            f"WHERE originator_id IN ({marks}) GROUP BY originator_id"
        )
        return self._rows(sql, [i.hex for i in ids])

    def _select_events_after(
        self, versions: dict[UUID, int]
    ) -> Iterable[tuple[Any, int, str, bytes]]:
        table = self._table(self.events_table)
        ids = list(versions)
        if self.is_postgres:
            sql = (
                f"SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "
                f"JOIN unnest(%s::uuid[], %s::bigint[]) AS s(id, v) "
                f"ON e.originator_id = s.id AND e.originator_version > s.v"
            )
            return self._rows(sql, [ids, [versions[i] for i in ids]])
        values = ",".join("(?,?)" for _ in ids)
        sql = (
            f"WITH s(id, v) AS (VALUES {values}) "
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "
            f"JOIN s ON e.originator_id = s.id AND e.originator_version > s.v"
        )
        params: list[Any] = []
        for i in ids:
            params += [i.hex, versions[i]]
        return self._rows(sql, params)
