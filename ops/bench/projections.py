"""Benchmark: rebuilding each projection, in events/s, next to the raw insert floor.

What is measured, in one run, on an empty store:

1. **A book** is built (not timed): ``--loans`` loans of the five presets (12 months, daily
   rate 0.0005, disbursed 2026-01-01); one loan in ``--unpaid-every`` has an empty linked
   account, so it misses its installment, turns overdue and accrues penalty; then
   close-of-business runs ``--days`` business days (default 40: every loan's first
   installment falls due, is deducted or goes overdue). Roughly ``loans x (days + 2)`` loan
   events.
2. **Rebuild** of every projection, one at a time, each on a fresh application (nothing cached),
   with ``Projector.rebuild``: empty the tables, then read the events loan by loan (pages of
   ``--page // 50`` loans, each loan's events in version order), fold, and write each loan's
   rows once per page, with the rebuild's progress, in one transaction per page. Printed per
   projection: events, seconds, events/s, peak memory. ``--log-order`` measures instead the
   way a catch-up applies events (the notification log in order, ``--page`` events per
   transaction, rows written per page): that is what a projector following the log does.
3. **The raw floor** of the same run: as many rows as the log has loan events (capped at
   ``--floor-rows``), each the byte size of a stored ``InterestAccrued``, inserted with the
   driver's ``executemany`` into a scratch table shaped like the events table, in transactions
   of ``--page`` rows (``close_day.py`` explains the floor). Ratio = events/s / floor rows/s;
   the issue's target is >= 50 % on PostgreSQL.

Run (from the repository root)::

    .venv/bin/python ops/bench/projections.py                       # 10 000 loans, PostgreSQL
    .venv/bin/python ops/bench/projections.py --loans 2000 --days 35  # quick
    .venv/bin/python ops/bench/projections.py --db sqlite:////tmp/proj.db

``--db`` defaults to ``$LEDGER_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_projections`` (the schema is
dropped first; for SQLite the file is removed).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

# This file is named like the ``projections`` package: take its own directory off the path
# (Python puts it first) and load the sibling benchmark's helpers by file name.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("close_day", HERE / "close_day.py")
assert _spec is not None and _spec.loader is not None
close_day = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(close_day)

from ledger.adapters.persistence import parse_database_url  # noqa: E402
from ledger.domain.account import LinkedAccount  # noqa: E402
from ledger.services.application import LedgerApp  # noqa: E402
from projections import NAMES, Projections  # noqa: E402
from projections.base import DEFAULT_PAGE  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_projections"
FIRST_DAY = date(2026, 1, 1)


def build_book(url: str, loans: int, days: int, unpaid_every: int, batch_size: int) -> int:
    """Open the loans, empty some accounts, run the days; return the loan events written."""
    close_day.open_loans(url, loans, batch_size)
    app = LedgerApp.from_url(url, batch_size=batch_size)
    try:
        app.directory.catch_up()
        ids = app.directory.all_loan_ids()
        unpaid = sorted(ids)[::unpaid_every] if unpaid_every else []
        for size_start in range(0, len(unpaid), batch_size):
            chunk = unpaid[size_start : size_start + batch_size]
            app.save(*(LinkedAccount.open(i, Decimal(0)) for i in chunk))
        started = time.perf_counter()
        report = app.close_days(FIRST_DAY + timedelta(days=days - 1))
        print(
            f"book: {loans} loans ({len(unpaid)} with empty accounts), {len(report.days)} "
            f"business days, {report.events} events in {time.perf_counter() - started:.1f} s"
        )
        return int(Projections(app).select(["balances"])[0].lag(0))
    finally:
        app.close()


def existing_book(url: str) -> int:
    app = LedgerApp.from_url(url)
    try:
        return int(Projections(app).select(["balances"])[0].lag(0))
    finally:
        app.close()


def rebuild(url: str, name: str, page: int, *, log_order: bool) -> tuple[int, float]:
    """Rebuild one projection on a fresh application; with ``log_order``, replay it the way a
    catch-up does instead (from position 0, in log order, rows written per page)."""
    app = LedgerApp.from_url(url)
    try:
        projections = Projections(app, page=page)
        started = time.perf_counter()
        if log_order:
            projector = projections.select([name])[0]
            with projector.sql.transaction() as c:
                projector.projection.clear(c)
                c.execute(
                    f"UPDATE {projector.t_pos} SET position = 0 WHERE name = ?", [projector.key]
                )
            applied = projector.catch_up()
        else:
            applied = projections.rebuild([name])[name]
        return applied, time.perf_counter() - started
    finally:
        app.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loans", type=int, default=10_000, help="loans (10000)")
    parser.add_argument("--days", type=int, default=40, help="business days to run (40)")
    parser.add_argument(
        "--unpaid-every", type=int, default=10, help="every Nth loan has an empty account (10)"
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_DB),
        help="postgresql://...?schema=NAME (the schema is wiped) or sqlite:///path (removed)",
    )
    parser.add_argument(
        "--page", type=int, default=DEFAULT_PAGE, help=f"events per transaction ({DEFAULT_PAGE})"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="loans per save (1000)")
    parser.add_argument(
        "--floor-rows", type=int, default=300_000, help="at most this many floor rows"
    )
    parser.add_argument(
        "--reuse-book",
        action="store_true",
        help="keep the book already in the store (skip building it; --loans/--days ignored)",
    )
    parser.add_argument(
        "--log-order",
        action="store_true",
        help="replay in log order, as a catch-up does, instead of the loan-by-loan rebuild",
    )
    parser.add_argument(
        "--only", choices=NAMES, action="append", help="rebuild only these projections"
    )
    args = parser.parse_args(argv)
    if min(args.loans, args.days, args.page, args.batch_size, args.floor_rows) < 1:
        parser.error("--loans, --days, --page, --batch-size and --floor-rows must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = parse_database_url(args.db)
    print(f"store: {db.url} ({db.kind}); page {args.page} events per transaction")
    events = existing_book(args.db) if args.reuse_book else 0
    if events:
        print("reusing the book already in the store (--reuse-book)")
    else:
        close_day.reset_store(db)
        events = build_book(args.db, args.loans, args.days, args.unpaid_every, args.batch_size)
    print(f"loan events in the log: {events}")
    results: dict[str, float] = {}
    verb = "replay" if args.log_order else "rebuild"
    for name in args.only or NAMES:
        before = close_day.peak_mib()
        applied, seconds = rebuild(args.db, name, args.page, log_order=args.log_order)
        rate = applied / seconds if seconds else 0.0
        results[name] = rate
        print(
            f"{verb} {name:<10} {applied} events in {seconds:6.1f} s = {rate:7.0f} events/s "
            f"(peak memory {close_day.peak_mib():.0f} MiB, {close_day.peak_mib() - before:+.0f})"
        )
    rows = min(events, args.floor_rows)
    state = close_day.sample_state(db, "ledger_events" if db.is_postgres else "stored_events")
    floor = close_day.floor_postgres if db.is_postgres else close_day.floor_sqlite
    seconds = floor(db, rows, args.page, state)
    floor_rate = rows / seconds
    print(
        f"raw executemany floor: {rows} rows of {len(state)} bytes in {seconds:.1f} s = "
        f"{floor_rate:.0f} rows/s (transactions of {args.page})"
    )
    for name, rate in results.items():
        print(f"ratio {name:<10} {100 * rate / floor_rate:5.1f} % of the floor (target >= 50 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
