"""Benchmark: bytes per stored event, and how fast they read, in the compact form against
the library's tagged form of the same events, measured in one run (issue 18, point 5).

1. **A book** (not timed): ``--loans`` loans of every preset, a fifth with an empty linked
   account (overdue, penalties), then ``--days`` business days of close-of-business, and a
   back-dated repayment on one loan in ten (a ``Corrected`` event carries the loan's state).
2. **Bytes per event.** ``state``: the mean size of the stored JSON, as written (compact,
   :mod:`ledger.adapters.codec`) and the same events written again by the library's own
   mapper (the tagged form, what the ledger stored before). ``table``: the whole events table
   per row (rows, indexes, TOAST: ``pg_total_relation_size`` on PostgreSQL; on SQLite the
   table's pages from ``dbstat``, after ``VACUUM``): two tables shaped like the events table,
   filled in the same run with the same loan events, one in each form. Ratio = compact /
   tagged (the issue's target: 0.50).
3. **Reading.** Every stored event decoded into its domain event by the ledger's mapper
   (compact rows) and by the library's mapper (tagged rows): events/s and the ratio.

Run (from the repository root)::

    .venv/bin/python ops/bench/storage.py                                # PostgreSQL
    .venv/bin/python ops/bench/storage.py --db sqlite:////tmp/storage.db

``--db`` defaults to ``$LEDGER_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_storage`` (the schema is dropped
first; for SQLite the file is removed).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ledger.adapters.persistence import Database, parse_database_url, register_transcodings
from ledger.adapters.sql import Sql
from ledger.domain.account import LinkedAccount
from ledger.services.application import LedgerApp
from ops.bench.close_day import make_terms, reset_store

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_storage"
START = date(2026, 1, 1)


def build_book(app: LedgerApp, loans: int, days: int) -> None:
    from random import Random

    rng = Random(18)
    refs = []
    for i in range(loans):
        ref = f"S-{i:06d}"
        app.open_loan(make_terms(rng), ref)
        if i % 5 == 0:
            app.set_balance(ref, Decimal(0))
        refs.append(ref)
    app.close_days(START + timedelta(days=days))
    for ref in refs[::10]:
        on = START + timedelta(days=rng.randint(1, days - 1))
        app.repay_backdated(ref, Decimal("25.00"), on, actor="bench", reason="late")


def library_mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def table_bytes(app: LedgerApp, db: Database, table: str) -> int:
    sql = Sql(app)
    if db.is_postgres:
        [(size,)] = sql.query("SELECT pg_total_relation_size(?::regclass)", [sql.table(table)])
        return int(size)
    path = db.env["SQLITE_DBNAME"]
    with sqlite3.connect(path) as conn:  # the table's own pages (indexes included)
        conn.execute("VACUUM")
        rows = conn.execute(
            "SELECT SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON d.name = m.name "
            "WHERE m.tbl_name = ?",
            [table],
        ).fetchall()
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
    return os.path.getsize(path)  # SQLite built without dbstat: the whole file


def copy_events(app: LedgerApp, name: str, rows: list[StoredEvent], states: list[bytes]) -> str:
    """A table shaped like the events table holding ``rows`` with ``states``; its name."""
    sql = Sql(app)
    table = sql.table(name)
    with sql.transaction() as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
        if sql.is_postgres:
            source = sql.table(app.reader.events_table)
            c.execute(f"CREATE TABLE {table} (LIKE {source} INCLUDING ALL)")
        else:
            c.execute(
                f"CREATE TABLE {table} (originator_id TEXT, originator_version INTEGER, "
                "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
            )
        c.executemany(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            [
                (_key(r.originator_id, sql.is_postgres), r.originator_version, r.topic, state)
                for r, state in zip(rows, states, strict=True)
            ],
        )
    return name


def _key(originator_id: object, is_postgres: bool) -> object:
    return originator_id if is_postgres else UUID(str(originator_id)).hex


def reading(mapper: Mapper[UUID], rows: list[StoredEvent]) -> float:
    started = time.perf_counter()
    for row in rows:
        mapper.to_domain_event(row)
    return len(rows) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--loans", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args(argv)
    db = parse_database_url(args.db)
    reset_store(db)
    app = LedgerApp.from_url(args.db, batch_size=500)
    try:
        build_book(app, args.loans, args.days)
        n = app.recorder.select_notifications(start=None, limit=10**9)
        rows = [
            StoredEvent(e.originator_id, e.originator_version, e.topic, bytes(e.state))
            for e in n
            if not e.topic.startswith(LinkedAccount.__module__)
        ]
        library = library_mapper()
        tagged = [library.to_stored_event(app.mapper.to_domain_event(r)).state for r in rows]
        compact_state = sum(len(r.state) for r in rows) / len(rows)
        tagged_state = sum(len(s) for s in tagged) / len(rows)
        compact_copy = copy_events(app, "bench_compact_events", rows, [r.state for r in rows])
        tagged_copy = copy_events(app, "bench_tagged_events", rows, tagged)
        compact_table = table_bytes(app, db, compact_copy) / len(rows)
        tagged_table = table_bytes(app, db, tagged_copy) / len(rows)
        tagged_rows = [StoredEvent(r.originator_id, r.originator_version, r.topic, s)
                       for r, s in zip(rows, tagged, strict=True)]  # fmt: skip
        compact_read = reading(app.mapper, rows)
        tagged_read = reading(library, tagged_rows)
    finally:
        app.close()
    print(f"store: {db.kind}; {args.loans} loans x {args.days} days: {len(rows)} loan events")
    print(f"{'':28}{'compact':>12}{'tagged':>12}{'ratio':>8}")
    print(f"{'state bytes per event':28}{compact_state:12.0f}{tagged_state:12.0f}"
          f"{compact_state / tagged_state:8.2f}")  # fmt: skip
    print(f"{'table bytes per event':28}{compact_table:12.0f}{tagged_table:12.0f}"
          f"{compact_table / tagged_table:8.2f}")  # fmt: skip
    print(f"{'events read per second':28}{compact_read:12.0f}{tagged_read:12.0f}"
          f"{compact_read / tagged_read:8.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
