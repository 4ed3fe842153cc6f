"""Benchmark: ``ledger audit verify`` of one 3-year loan and of the whole book, next to the raw
read floor of the same run, and what it means for 100,000 loans on 16 cores.

What is measured, in one run:

1. **A book** (not timed; ``--reuse-book`` keeps the one already in the store): one loan
   ``VERIFY-3Y`` of 36 months whose 1,095 business days are all closed, and ``--loans`` loans
   of the five presets (12 months, ``ops/bench/close_day.py``), one in ten with an empty
   linked account (overdue, penalty), closed for the last ``--days`` of those days with it.
2. **One loan**: ``audit.verify_loan`` of ``VERIFY-3Y`` (read its events, check every link of
   the keyed chain, its anchor and snapshot, replay it from its facts and compare every
   field), ``--runs`` times in this process; the median wall and CPU time. Its floor: the
   same events read raw from the store in one query (rows, not decoded).
3. **The book**: ``ledger audit verify --all --jobs N`` as the command runs it
   (:func:`ledger.services.verify_book.not_clean`, N processes started by it, each a
   partition of the loans), wall time; loans/s, events/s and loans/s per job. Its floor:
   every loan event read raw in one streamed query, rows/s. The start of a process is
   ``python -c pass`` (its own floor), timed too: each job pays one interpreter and one
   ``import ledger``.
4. **The extrapolation** to 100,000 loans x 1 year on 16 cores, with the arithmetic: events
   of a one-year loan (from this book's events per loan-day) over the per-job events/s.
5. ``--memory-check``: the peak RSS of verifying half of the book (partition 0 of 2) and
   the whole book, each in a fresh process, one job: memory holds a page of loans
   (``audit.VERIFY_PAGE``), so the two peaks are close, whatever the size of the book.

Run (from the repository root)::

    .venv/bin/python ops/bench/verify.py                             # PostgreSQL, 1000 loans
    .venv/bin/python ops/bench/verify.py --jobs 2 --memory-check
    .venv/bin/python ops/bench/verify.py --reuse-book --jobs 1
    .venv/bin/python ops/bench/verify.py --db sqlite:////tmp/verify.db --loans 500

``--db`` defaults to ``$LEDGER_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_verify`` (dropped first unless
``--reuse-book``; for SQLite the file is removed).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("close_day", HERE / "close_day.py")
assert _spec is not None and _spec.loader is not None
close_day = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(close_day)

from ledger.adapters.persistence import parse_database_url  # noqa: E402
from ledger.adapters.sql import Sql, snapshot  # noqa: E402
from ledger.domain.account import LinkedAccount  # noqa: E402
from ledger.domain.loan import Loan  # noqa: E402
from ledger.services import audit, verify_book  # noqa: E402
from ledger.services.application import LedgerApp  # noqa: E402
from ledger.services.products import terms_from_input  # noqa: E402
from ledger.services.store import loan_id_for  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_verify"
LONG = "VERIFY-3Y"
THREE_YEARS = 1095
BOOK_OPENS = close_day.DISBURSED_ON  # 2026-01-01
TARGET = (100_000, 16, 300.0)  # loans x 1 year, cores, seconds (issue 18)


def build_book(url: str, loans: int, days: int, batch_size: int) -> None:
    """The 3-year loan, run alone until the book opens, then the book with it."""
    through = BOOK_OPENS + timedelta(days=days - 1)
    app = LedgerApp.from_url(url, batch_size=batch_size)
    try:
        terms = terms_from_input(
            product="repay_on_schedule",
            principal="36000.00",
            term=36,
            disbursed_on=through - timedelta(days=THREE_YEARS - 1),
            daily_rate="0.0005",
        )
        app.save(Loan.disburse(terms, loan_id=loan_id_for(LONG), reference=LONG))
        started = time.perf_counter()
        app.close_days(BOOK_OPENS - timedelta(days=1))
        alone = time.perf_counter() - started
    finally:
        app.close()
    close_day.open_loans(url, loans, batch_size)
    app = LedgerApp.from_url(url, batch_size=batch_size)
    try:
        app.directory.catch_up()
        unpaid = sorted(app.directory.all_loan_ids())[::10]
        app.save(*(LinkedAccount.open(i, Decimal(0)) for i in unpaid if i != loan_id_for(LONG)))
        started = time.perf_counter()
        report = app.close_days(through)
        print(
            f"book: {LONG} (36 months, {THREE_YEARS} days, {alone:.0f} s alone) and {loans} "
            f"loans x {days} days ({report.events} events in {time.perf_counter() - started:.0f} s)"
        )
    finally:
        app.close()


def raw_floor(app: LedgerApp, loan_id: Any | None) -> tuple[int, float]:
    """Rows and seconds of reading loan events raw (not decoded) in one query: one loan's,
    or every loan event of the store (streamed, a page of rows at a time)."""
    sql = Sql(app)
    table = sql.table(app.recorder.events_table_name)  # type: ignore[attr-defined]
    started = time.perf_counter()
    with snapshot(sql) as s:
        if loan_id is None:
            rows = sum(
                1
                for _ in s.stream(
                    f"SELECT originator_id, originator_version, topic, state FROM {table} "
                    "WHERE topic LIKE 'ledger.domain.loan:%'",
                    page=5000,
                )
            )
        else:
            key = loan_id if sql.is_postgres else loan_id.hex
            rows = len(s.query(f"SELECT state FROM {table} WHERE originator_id = ?", [key]))
    return rows, time.perf_counter() - started


def one_loan(app: LedgerApp, runs: int) -> int:
    """Verify the 3-year loan ``runs`` times; return its events."""
    audit.verify_loan(app, LONG)  # warm: imports, connections, the keyring
    walls, cpus, floors = [], [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = audit.verify_loan(app, LONG)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - started)
        rows, seconds = raw_floor(app, loan_id_for(LONG))
        floors.append(seconds)
    wall, cpu, floor = (statistics.median(x) * 1000 for x in (walls, cpus, floors))
    print(
        f"verify {LONG}: {result.events} events, clean {result.clean}: median wall "
        f"{wall:.1f} ms, CPU {cpu:.1f} ms over {runs} runs (target < 50 ms)"
    )
    print(
        f"  floor: its {rows} rows read raw in one query {floor:.1f} ms; ratio {wall / floor:.0f}x"
    )
    return result.events


def process_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def whole_book(app: LedgerApp, url: str, jobs: int, days: int, long_events: int) -> None:
    tally = verify_book.Tally()
    cpu_before = time.process_time() + _children_cpu()
    started = time.perf_counter()
    failures = sum(1 for _ in verify_book.not_clean(app, tally, jobs=jobs, url=url))
    seconds = time.perf_counter() - started
    cpu = time.process_time() + _children_cpu() - cpu_before  # the jobs' too, once joined
    rows, floor = raw_floor(app, None)
    loans_s, events_s = tally.loans / seconds, tally.events / seconds
    per_job = events_s / jobs
    print(
        f"verify --all --jobs {jobs}: {tally.loans} loans, {tally.events} events, {failures} not "
        f"clean, in {seconds:.1f} s = {loans_s:.0f} loans/s, {events_s:.0f} events/s; per job "
        f"{loans_s / jobs:.1f} loans/s, {per_job:.0f} events/s ({os.cpu_count()} cores here); "
        f"CPU {cpu:.1f} s = {tally.events / cpu:.0f} events per CPU-second"
    )
    start = process_start()
    print(
        f"  floor: {rows} loan events read raw in one streamed query in {floor:.1f} s = "
        f"{rows / floor:.0f} rows/s; ratio {100 * events_s / (rows / floor):.1f} % "
        f"(python -c pass: {start:.2f} s, paid once per job)"
    )
    book_events = tally.events - long_events
    per_loan_day = book_events / max(1, (tally.loans - 1) * days)
    loans, cores, target = TARGET
    year = per_loan_day * 365
    total = loans * year
    print(
        f"  100,000 loans x 1 year on {cores} cores: {per_loan_day:.2f} events per loan-day "
        f"x 365 = {year:.0f} events a loan; {loans} x {year:.0f} = {total:,.0f} events"
    )
    per_cpu = tally.events / cpu
    for what, rate in (("wall time per job", per_job), ("CPU time (a core of its own)", per_cpu)):
        estimate = total / (rate * cores)
        print(
            f"  by {what}: {total:,.0f} / ({rate:.0f} events/s x {cores}) = {estimate:.0f} s "
            f"({estimate / 60:.1f} min; target < {target / 60:.0f} min)"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_of_verify(url: str, partition: int, partitions: int, out: Any) -> None:
    app = LedgerApp.from_url(url)
    loans = sum(1 for _ in audit.verify_all(app, partition=partition, partitions=partitions))
    app.close()
    out.put((loans, close_day.peak_mib()))


def memory_check(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    for partitions in (2, 1):
        q = ctx.Queue()
        child = ctx.Process(target=_peak_of_verify, args=(url, 0, partitions, q))
        child.start()
        loans, peak = q.get()
        child.join()
        print(f"  peak memory of a verify of {loans} loans (one process): {peak:.1f} MiB")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loans", type=int, default=1000, help="loans of the book (1000)")
    parser.add_argument("--days", type=int, default=60, help="business days of the book (60)")
    parser.add_argument("--jobs", type=int, default=1, help="verify --all processes (1)")
    parser.add_argument("--runs", type=int, default=9, help="verifies of the one loan (9)")
    parser.add_argument("--batch-size", type=int, default=1000, help="loans per save (1000)")
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_DB),
        help="postgresql://...?schema=NAME (the schema is wiped) or sqlite:///path (removed)",
    )
    parser.add_argument("--reuse-book", action="store_true", help="keep the book in the store")
    parser.add_argument(
        "--memory-check", action="store_true", help="peak memory of half the book and all of it"
    )
    args = parser.parse_args(argv)
    if min(args.loans, args.days, args.runs, args.batch_size) < 1:
        parser.error("--loans, --days, --runs and --batch-size must be positive")
    if not 1 <= args.jobs <= verify_book.MAX_JOBS:
        parser.error(f"--jobs must be 1 to {verify_book.MAX_JOBS}")
    if args.days > 300:
        parser.error("--days must be at most 300 (the book ends before the business date)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = parse_database_url(args.db)
    print(f"store: {db.url} ({db.kind}); load average {os.getloadavg()[0]:.2f}")
    if not args.reuse_book:
        close_day.reset_store(db)
        build_book(args.db, args.loans, args.days, args.batch_size)
    app = LedgerApp.from_url(args.db)
    try:
        long_events = one_loan(app, args.runs)
        whole_book(app, args.db, args.jobs, args.days, long_events)
    finally:
        app.close()
    if args.memory_check:
        memory_check(args.db)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
