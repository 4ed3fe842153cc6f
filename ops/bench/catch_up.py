"""Benchmark: a multi-day catch-up (issue 18, item 2) against the raw insert floor.

What is measured, in one run, on an empty store:

1. **Opening** N loans (``close_day.py``'s mix: the five presets and the bank installment,
   principal 1 000..50 000, 12 months, disbursed 2026-01-01), in a child process, not timed
   here.
2. **Catch-up** of D business days from 2026-01-01 with ``LedgerApp.close_days`` in a child
   process of its own (a fresh application, nothing cached; its peak memory is its own), in
   spans (the default: ``$LEDGER_CATCH_UP_LOAN_DAYS`` / ``--catch-up-loan-days`` loan-days a
   batch, ``ledger/services/catch_up.py``) and, with ``--day-by-day`` or ``--both``, one day
   at a time (the setting at 1: the path this replaced). Printed per mode: loans x days per
   second, events written, reads and writes per loan (loan ids asked of the batched reader,
   and loans in batch saves, over N: the directory, the calendar and the linked accounts are
   not counted), the peak memory of the child (``ru_maxrss``) and the seconds.
3. **The raw floor** of the same run (``close_day.py`` explains it): ``--floor-rows`` rows of
   the byte size of a stored ``InterestAccrued``, inserted with the driver's ``executemany``
   in transactions of ``--batch-size``. Ratio = catch-up events/s over floor rows/s.

The store starts empty (a PostgreSQL ``?schema=`` is dropped, a SQLite file removed), and
again before each mode, so both modes run the same book.

Run (from the repository root)::

    .venv/bin/python ops/bench/catch_up.py --loans 2000 --days 30 --both
    .venv/bin/python ops/bench/catch_up.py --loans 500 --days 365
    .venv/bin/python ops/bench/catch_up.py --db sqlite:////tmp/catch_up.db --loans 2000 --days 30

``--db`` defaults to ``$LEDGER_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_catch_up``.

Memory: a batch holds its loans and the events of its span, ``batch x days`` loan-days at
most, whatever N and D are. Compare the peak of two runs, a larger book or a longer catch-up::

    .venv/bin/python ops/bench/catch_up.py --loans 2000 --days 30
    .venv/bin/python ops/bench/catch_up.py --loans 2000 --days 120
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import queue as queue_module
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from ledger.adapters.persistence import parse_database_url
from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp
from ledger.services.catch_up import LOAN_DAYS_PER_BATCH
from ops.bench.close_day import (
    floor_postgres,
    floor_sqlite,
    open_loans_in_child,
    peak_mib,
    reset_store,
    sample_state,
)

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_catch_up"
FIRST_DAY = date(2026, 1, 1)


@dataclass(frozen=True)
class Run:
    """One catch-up, as its child process measured it."""

    mode: str
    seconds: float
    loan_days: int
    events: int
    reads: int  # loan ids asked of the batched reader
    writes: int  # loans in batch saves
    peak_mib: float
    span_days: int
    failures: int


def _catch_up(url: str, days: int, batch: int, loan_days: int, mode: str, out: Any) -> None:
    """In the child: a fresh application catches the book up, counting reads and writes."""
    app = LedgerApp.from_url(url, batch_size=batch, catch_up_loan_days=loan_days)
    try:
        app.directory.catch_up()
        loans = set(app.directory.all_loan_ids())
        reads: Counter[str] = Counter()
        writes: Counter[str] = Counter()
        load, save = app.reader.load_many, app.save_batch

        def counted_load(ids: Any) -> Any:
            reads["loans"] += sum(1 for i in ids if i in loans)
            return load(ids)

        def counted_save(aggregates: Any) -> Any:
            writes["loans"] += sum(1 for a in aggregates if isinstance(a, Loan))
            return save(aggregates)

        app.reader.load_many = counted_load  # type: ignore[method-assign]
        app.save_batch = counted_save  # type: ignore[method-assign]
        report = app.close_days(FIRST_DAY + timedelta(days=days - 1))
        out.put(
            Run(
                mode,
                report.seconds,
                report.loan_days,
                report.events,
                reads["loans"],
                writes["loans"],
                peak_mib(),
                app.span_days(),
                len(report.failures),
            )
        )
    finally:
        app.close()


def catch_up_in_child(url: str, days: int, batch: int, loan_days: int, mode: str) -> Run:
    ctx = multiprocessing.get_context("spawn")
    queue: Any = ctx.Queue()
    child = ctx.Process(target=_catch_up, args=(url, days, batch, loan_days, mode, queue))
    child.start()
    while True:  # a child that died says so instead of leaving this process waiting
        try:
            run: Run = queue.get(timeout=1)
            break
        except queue_module.Empty:
            if not child.is_alive():
                raise SystemExit(
                    f"the catch-up failed in its child process (exit {child.exitcode})"
                ) from None
    child.join()
    return run


def show(run: Run, loans: int) -> None:
    rate = run.loan_days / run.seconds if run.seconds else 0.0
    print(
        f"{run.mode}: {run.loan_days} loan-days in {run.seconds:.1f} s = {rate:.0f} loan-days/s, "
        f"{run.events} events ({run.events / run.seconds:.0f} events/s); "
        f"spans of {run.span_days} days; reads per loan {run.reads / loans:.1f}, "
        f"writes per loan {run.writes / loans:.1f}; peak memory {run.peak_mib:.1f} MiB"
        + (f"; {run.failures} failures" if run.failures else "")
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loans", type=int, default=2000, help="loans to open (2000)")
    parser.add_argument("--days", type=int, default=30, help="business days to catch up (30)")
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_DB),
        help="postgresql://...?schema=NAME (the schema is wiped) or sqlite:///path (removed)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="loans per batch (1000)")
    parser.add_argument(
        "--catch-up-loan-days",
        type=int,
        default=LOAN_DAYS_PER_BATCH,
        help=f"loan-days a batch runs per read and save ({LOAN_DAYS_PER_BATCH})",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--day-by-day", action="store_true", help="only the day-by-day path")
    modes.add_argument("--both", action="store_true", help="spans, then day by day")
    parser.add_argument(
        "--floor-rows", type=int, default=100_000, help="rows of the raw floor (100000)"
    )
    args = parser.parse_args(argv)
    if min(args.loans, args.days, args.batch_size, args.catch_up_loan_days) < 1:
        parser.error("--loans, --days, --batch-size and --catch-up-loan-days must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the book is simulated: its business date is fixed after the catch-up (children inherit)
    os.environ.setdefault("LEDGER_TODAY", "2030-12-31")
    db = parse_database_url(args.db)
    n, days, b = args.loans, args.days, args.batch_size
    print(f"store: {db.url} ({db.kind}), {n} loans x {days} days, batches of {b}")
    with contextlib.suppress(OSError):
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    modes = [("day by day", 1)] if args.day_by_day else [("spans", args.catch_up_loan_days)]
    if args.both:
        modes.append(("day by day", 1))
    runs: list[Run] = []
    for mode, loan_days in modes:
        reset_store(db)
        open_loans_in_child(args.db, n, b)
        started = time.perf_counter()
        runs.append(catch_up_in_child(args.db, days, b, loan_days, mode))
        show(runs[-1], n)
        print(f"  (child process wall time {time.perf_counter() - started:.1f} s)")

    app = LedgerApp.from_url(args.db)
    events_table: str = getattr(app.recorder, "events_table_name", "stored_events")
    app.close()
    state = sample_state(db, events_table)
    floor = floor_postgres if db.is_postgres else floor_sqlite
    rows = args.floor_rows
    floor_rate = rows / floor(db, rows, b, state)
    print(f"raw executemany floor: {rows} rows of {len(state)} bytes = {floor_rate:.0f} rows/s")
    for run in runs:
        ratio = 100 * run.events / run.seconds / floor_rate
        print(f"ratio {run.mode}: {ratio:.0f} % of the floor (events/s over rows/s)")
    if len(runs) == 2:
        speedup = (runs[0].loan_days / runs[0].seconds) / (runs[1].loan_days / runs[1].seconds)
        print(f"spans / day by day: {speedup:.1f}x loan-days/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
