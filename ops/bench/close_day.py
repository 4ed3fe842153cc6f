"""Benchmark: one business day of close-of-business against the raw insert floor.

What is measured, in one run, on an empty store:

1. **Opening** N loans (a mix of the five product presets, principal 1 000..50 000,
   daily rate 0.0005, 12 months, disbursed 2026-01-01), ``Loan.disburse`` in memory and
   ``app.save(*batch)`` per batch of ``--batch-size`` loans: never one save per loan.
2. **Close-of-business** of 2026-01-01 (and, with the default ``--days 2``, of
   2026-01-02) with ``LedgerApp.close_days`` on a *fresh* ``LedgerApp``, so nothing is cached
   from opening. The timing is the library's own ``CloseReport.seconds``: it includes the
   catch-up of the loan directory read model (which has to read the N ``Disbursed``
   notifications on the first day), loading the loans in batches, running the day and saving
   one transaction per batch. Printed: loans/s, events written, seconds.
3. **The raw floor**: N rows of exactly the byte size of a real stored ``InterestAccrued``
   event (its ``state`` is read back from the events table), inserted with the driver's
   ``cursor.executemany`` (psycopg for PostgreSQL, sqlite3 for SQLite) into a scratch table of
   the same shape as the library's events table -- primary key ``(originator_id,
   originator_version)`` plus a ``bigserial`` notification id with its unique index (on SQLite:
   the rowid) -- in transactions of ``--batch-size`` rows. The ratio printed is
   close-of-business loans/s over floor rows/s (day one writes one event per loan, plus one
   calendar event that the report does not count); the issue's target is >= 50 %. The
   scratch table is dropped at the end.
4. **Peak memory** (``ru_maxrss``) after opening and after close-of-business.
5. ``--days 2`` or ``3``: the later days run on the same application, with the loans it kept
   in memory (``--resident N``, as ``$LEDGER_RESIDENT_LOANS`` gives a worker; ``0`` keeps
   none); the ratio of the last day is printed too.

The store starts empty: for PostgreSQL the schema named by ``?schema=`` is dropped with
``DROP SCHEMA ... CASCADE`` and recreated by ``LedgerApp.from_url``; for ``sqlite:///path`` the
file (and its -wal/-shm) is removed. The bench schema is left in place afterwards for
inspection; the next run drops it again.

Run (from the repository root)::

    .venv/bin/python ops/bench/close_day.py                      # 100 000 loans, PostgreSQL
    .venv/bin/python ops/bench/close_day.py --loans 5000         # quick check
    .venv/bin/python ops/bench/close_day.py --db sqlite:////tmp/bench.db --loans 20000
    .venv/bin/python ops/bench/close_day.py --profile /tmp/cob.prof   # cProfile of day one

``--db`` defaults to ``$LEDGER_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_close_day``.

Memory: ``ru_maxrss`` is a high-water mark of the whole process, so by default the figure
after close-of-business also contains opening. To see close-of-business alone, pass
``--memory-check``: opening then runs in a child process, and the peak printed after
close-of-business is that of this process only. Compare two sizes::

    .venv/bin/python ops/bench/close_day.py --memory-check --loans 20000
    .venv/bin/python ops/bench/close_day.py --memory-check --loans 100000

Loans are loaded, run and saved ``--batch-size`` at a time, so the loans themselves do not
add up; what does grow with N is what ``close_days`` keeps for the whole day (the loan
directory's list of open loans, the ids of the day, one page of directory notifications).
The difference between the two peaks divided by 80 000 is that cost in bytes per loan.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import multiprocessing
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from random import Random
from typing import Any
from uuid import uuid4

import psycopg
from eventsourcing.utils import get_topic
from psycopg import sql

from ledger.adapters.persistence import Database, parse_database_url, postgres_conninfo
from ledger.domain.loan import Loan
from ledger.domain.terms import PRESETS, Terms
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from ledger.services.resident import RESIDENT_LOANS

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_close_day"
DISBURSED_ON = date(2026, 1, 1)
SCRATCH_TABLE = "bench_floor_events"
ACCRUED_TOPIC = get_topic(Loan.InterestAccrued)


# --------------------------------------------------------------------------- helpers


def peak_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def schema_of(db: Database) -> str:
    return db.schema or "public"


def reset_store(db: Database) -> None:
    """Start from an empty store."""
    if db.is_postgres:
        if not db.schema:
            raise SystemExit(
                f"refusing to wipe {db.url!r}: give a dedicated schema with ?schema=NAME"
            )
        with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(db.schema))
            )
        return
    path = Path(db.env["SQLITE_DBNAME"])
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_terms(rng: Random) -> Terms:
    """A loan of a random preset, validated the way ``ledger loan open`` validates it (a bank
    installment takes a handling fee instead of a rate, loan-rules section 13)."""
    product = rng.choice(list(PRESETS))
    charge = (
        {"fee_rate_per_period": "0.006"}
        if product == "bank_installment"
        else {"daily_rate": "0.0005"}
    )
    return terms_from_input(
        product=product,
        principal=f"{rng.randint(1000, 50000)}.00",
        term=12,
        disbursed_on=DISBURSED_ON,
        **charge,
    )


def batch_sizes(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


# --------------------------------------------------------------------------- phases


def open_loans(url: str, loans: int, batch_size: int) -> float:
    """Open ``loans`` loans, ``batch_size`` per save; return the seconds it took."""
    rng = Random(20260101)
    app = LedgerApp.from_url(url, batch_size=batch_size)
    try:
        started = time.perf_counter()
        for size in batch_sizes(loans, batch_size):
            batch = [Loan.disburse(make_terms(rng), loan_id=uuid4()) for _ in range(size)]
            app.save(*batch)
        return time.perf_counter() - started
    finally:
        app.close()


def _open_in_child(
    url: str, loans: int, batch_size: int, out: multiprocessing.Queue[float]
) -> None:
    out.put(open_loans(url, loans, batch_size))


def open_loans_in_child(url: str, loans: int, batch_size: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    child = ctx.Process(target=_open_in_child, args=(url, loans, batch_size, queue))
    child.start()
    seconds = queue.get()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"opening failed in the child process (exit code {child.exitcode})")
    return seconds


def sample_state(db: Database, events_table: str) -> bytes:
    """The stored ``state`` of one real InterestAccrued event."""
    if db.is_postgres:
        with psycopg.connect(postgres_conninfo(db)) as conn:
            row = conn.execute(
                sql.SQL("SELECT state FROM {}.{} WHERE topic = %s LIMIT 1").format(
                    sql.Identifier(schema_of(db)), sql.Identifier(events_table)
                ),
                [ACCRUED_TOPIC],
            ).fetchone()
    else:
        with contextlib.closing(sqlite3.connect(db.env["SQLITE_DBNAME"])) as conn:
            row = conn.execute(
                f"SELECT state FROM {events_table} WHERE topic = ? LIMIT 1", [ACCRUED_TOPIC]
            ).fetchone()
    if row is None:
        raise SystemExit("no InterestAccrued event was stored: close-of-business wrote nothing")
    return bytes(row[0])


def floor_postgres(db: Database, rows: int, batch_size: int, state: bytes) -> float:
    schema = sql.Identifier(schema_of(db))
    table = sql.Identifier(SCRATCH_TABLE)
    with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(schema, table))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.{} (originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, topic text, state bytea, "
                "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
            ).format(schema, table)
        )
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX {} ON {}.{} (notification_id ASC)").format(
                sql.Identifier(f"{SCRATCH_TABLE}_notification_id_idx"), schema, table
            )
        )
        insert = sql.SQL(
            "INSERT INTO {}.{} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)"
        ).format(schema, table)
        try:
            started = time.perf_counter()
            for size in batch_sizes(rows, batch_size):
                params = [(uuid4(), 2, ACCRUED_TOPIC, state) for _ in range(size)]
                with conn.transaction(), conn.cursor() as curs:
                    curs.executemany(insert, params)
            return time.perf_counter() - started
        finally:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(schema, table))


def floor_sqlite(db: Database, rows: int, batch_size: int, state: bytes) -> float:
    # Same connection settings as the library: autocommit mode, explicit BEGIN, WAL (the
    # journal mode is a property of the file, already set by the app).
    conn = sqlite3.connect(db.env["SQLITE_DBNAME"], isolation_level=None)
    try:
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
        conn.execute(
            f"CREATE TABLE {SCRATCH_TABLE} (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        insert = (
            f"INSERT INTO {SCRATCH_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)"
        )
        try:
            started = time.perf_counter()
            for size in batch_sizes(rows, batch_size):
                params = [(uuid4().hex, 2, ACCRUED_TOPIC, state) for _ in range(size)]
                conn.execute("BEGIN")
                conn.executemany(insert, params)
                conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
    finally:
        conn.close()


# --------------------------------------------------------------------------- main


def _close_partition(
    url: str,
    days: list[date],
    partition: int,
    workers: int,
    sizes: tuple[int, int],
    start: Any,
    ddl: Any,
    out: Any,
) -> None:
    # The library runs its CREATE ... statements on start-up; PostgreSQL refuses the same DDL
    # from two sessions at once ("tuple concurrently updated"), so the workers start in turn.
    batch_size, resident = sizes
    with ddl:
        app = LedgerApp.from_url(url, batch_size=batch_size, resident_loans=resident)
    try:
        for day in days:  # one process for all the days, as a worker runs: loans kept
            start.wait()
            report = app.close_days(day, partition=partition, partitions=workers)
            out.put((report.loans, report.events, len(report.failures)))
    finally:
        app.close()


def close_in_workers(
    url: str, days: list[date], workers: int, sizes: tuple[int, int]
) -> list[tuple[int, int, float]]:
    """Close ``days`` with ``workers`` processes, one partition each, every process running
    every day (``sizes``: batch size, loans kept); per day: loans, events, wall seconds."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    ddl = ctx.Lock()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_close_partition, args=(url, days, i, workers, sizes, start, ddl, out))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    per_day = []
    for _day in days:
        start.wait()
        began = time.perf_counter()
        results = [out.get() for _ in procs]
        seconds = time.perf_counter() - began
        if failures := sum(r[2] for r in results):
            print(f"  {failures} failures")
        per_day.append((sum(r[0] for r in results), sum(r[1] for r in results), seconds))
    for p in procs:
        p.join()
    return per_day


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loans", type=int, default=100_000, help="loans to open (100000)")
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_DB),
        help="postgresql://...?schema=NAME (the schema is wiped) or sqlite:///path (removed)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="loans per save / rows per transaction"
    )
    parser.add_argument(
        "--days", type=int, choices=(1, 2, 3), default=2, help="business days to close (2)"
    )
    parser.add_argument(  # days after the first run on loans kept in memory (0: none kept)
        "--resident", type=int, default=RESIDENT_LOANS, help="LEDGER_RESIDENT_LOANS (50000)"
    )
    parser.add_argument(
        "--memory-check",
        action="store_true",
        help="open the loans in a child process, so the peak after close-of-business is its own",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="close each day with this many processes, one partition each (default 1)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of day one's close_days to FILE"
    )
    args = parser.parse_args(argv)
    if args.loans < 1 or args.batch_size < 1:
        parser.error("--loans and --batch-size must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = parse_database_url(args.db)
    n: int = args.loans
    b: int = args.batch_size
    print(f"store: {db.url} ({db.kind}), {n} loans, batch size {b}")
    reset_store(db)

    # 1. opening
    if args.memory_check:
        opening = open_loans_in_child(args.db, n, b)
        opened_peak = children_peak_mib()
        where = "in a child process"
    else:
        opening = open_loans(args.db, n, b)
        opened_peak = peak_mib()
        where = "this process"
    print(f"opening: {n} loans in {opening:.1f} s = {n / opening:.0f} loans/s (saves of {b})")
    print(f"peak memory after opening: {opened_peak:.1f} MiB ({where})")
    before_cob = peak_mib()

    # 2. close-of-business on a fresh application
    app = LedgerApp.from_url(args.db, batch_size=b, resident_loans=args.resident)
    recorder: Any = app.recorder
    events_table: str = recorder.events_table_name  # ledger_events / stored_events
    cob_rate = last_rate = 0.0
    try:
        days = [date(2026, 1, 1 + offset) for offset in range(args.days)]
        if args.workers > 1:
            sizes = (b, args.resident)
            for day, (loans, events, seconds) in zip(
                days, close_in_workers(args.db, days, args.workers, sizes), strict=True
            ):
                rate = loans / seconds
                cob_rate = cob_rate or rate
                last_rate = rate
                print(
                    f"close-of-business {day} with {args.workers} worker processes: {loans} "
                    f"loans in {seconds:.1f} s = {rate:.0f} loans/s, {events} events written"
                )
        for offset in range(args.days if args.workers == 1 else 0):
            day = days[offset]
            if offset == 0 and args.profile:
                profiler = cProfile.Profile()
                report = profiler.runcall(app.close_days, day)
                profiler.dump_stats(args.profile)
            else:
                report = app.close_days(day)
            if report.failures:
                print(f"  {len(report.failures)} failures, first: {report.failures[0]}")
            rate = report.loans / report.seconds if report.seconds else 0.0
            cob_rate = rate if offset == 0 else cob_rate
            last_rate = rate
            print(
                f"close-of-business {day}: {report.loans} loans in {report.seconds:.1f} s = "
                f"{rate:.0f} loans/s, {report.events} events written"
                + (" (profiled: slower than unprofiled)" if offset == 0 and args.profile else "")
            )
    finally:
        app.close()
    after_cob = peak_mib()
    print(
        f"peak memory after close-of-business: {after_cob:.1f} MiB "
        f"(this process; {after_cob - before_cob:+.1f} MiB over its peak before it)"
    )

    # 3. the raw floor
    state = sample_state(db, events_table)
    floor = floor_postgres if db.is_postgres else floor_sqlite
    seconds = floor(db, n, b, state)
    floor_rate = n / seconds
    print(
        f"raw executemany floor: {n} rows of {len(state)} bytes in {seconds:.1f} s = "
        f"{floor_rate:.0f} rows/s (transactions of {b})"
    )
    print(
        f"ratio: {100 * cob_rate / floor_rate:.0f} % "
        "(close-of-business day one loans/s / floor rows/s; target >= 50 %)"
    )
    if args.days > 1:  # loans kept in memory since day one (--resident)
        print(f"ratio, last day: {100 * last_rate / floor_rate:.0f} % (whole machine)")
    print(f"peak memory at the end: {peak_mib():.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
