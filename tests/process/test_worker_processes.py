"""Real worker processes on PostgreSQL: kill -9 half-way, and two workers on one partition.

Exactly once is checked with a count query over the stored events: one ``InterestAccrued``
per loan per business day, no gaps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from ledger.adapters.directory import partition_of
from ledger.adapters.persistence import parse_database_url, postgres_conninfo
from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from tests.conftest import _drop_schema, _postgres_url

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2026, 1, 1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = _postgres_url()
    if not base:
        pytest.skip("LEDGER_TEST_POSTGRES_URL not set")
    schema = f"w_{uuid.uuid4().hex[:12]}"
    yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    _drop_schema(base, schema)


def open_book(url: str, count: int) -> list[uuid.UUID]:
    app = LedgerApp.from_url(url)
    loans = []
    for i in range(count):
        terms = terms_from_input(
            product="repay_on_schedule",
            principal=f"{1000 + i}.00",
            term=6,
            disbursed_on=FIRST,
            daily_rate="0.0005",
        )
        loans.append(Loan.disburse(terms, loan_id=uuid.uuid4(), reference=f"P{i}"))
    app.save(*loans)
    app.close()
    return [loan.id for loan in loans]


def worker(url: str, *args: str, **settings: str) -> subprocess.Popen[str]:
    """``ledger worker`` in a process of its own: batches of 10 loans, spans of 20 days (the
    catch-up setting at 200 loan-days) unless ``settings`` say otherwise."""
    env = {
        **os.environ,
        "LEDGER_BATCH_SIZE": "10",
        "LEDGER_CATCH_UP_LOAN_DAYS": "200",
        "PYTHONPATH": str(ROOT),
        **settings,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ledger.bootstrap import main; main()",
            "--db",
            url,
            "worker",
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def accrual_counts(url: str) -> dict[tuple[str, str], int]:
    """The count query: InterestAccrued events per (loan, business day)."""
    db = parse_database_url(url)
    with psycopg.connect(postgres_conninfo(db)) as conn:
        rows = conn.execute(
            "SELECT originator_id::text, COALESCE(convert_from(state, 'UTF8')::json->'on'->>"
            "'_data_', convert_from(state, 'UTF8')::json->>'on'),"
            f' COUNT(*) FROM "{db.schema}".ledger_events WHERE topic LIKE %s GROUP BY 1, 2',
            ["%Loan.InterestAccrued"],
        ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows}


def expected_pairs(ids: list[uuid.UUID], through: date) -> set[tuple[str, str]]:
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range((through - FIRST).days + 1)]
    return {(str(i), d) for i in ids for d in days}


def kill_once_stored(
    pg_url: str, process: subprocess.Popen[str], pairs: int, *, within: float
) -> dict[tuple[str, str], int]:
    """SIGKILL ``process`` once ``pairs`` (loan, day) accruals are stored (or after
    ``within`` seconds); the accruals stored then."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and len(accrual_counts(pg_url)) < pairs:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return accrual_counts(pg_url)


def test_a_worker_killed_mid_pass_resumes_with_one_accrual_per_loan_per_day(pg_url: str) -> None:
    ids = open_book(pg_url, 60)
    through = date(2026, 2, 28)  # 60 loans x 59 days, in batches of 10 loans
    first = worker(pg_url, "--through", through.isoformat())
    partial = kill_once_stored(pg_url, first, 60 * 20, within=60)  # well into the pass
    assert 0 < len(partial) < len(expected_pairs(ids, through)), "killed half-way"

    second = worker(pg_url, "--through", through.isoformat(), "--json")
    _, err = second.communicate(timeout=240)
    assert second.returncode == 0, err
    counts = accrual_counts(pg_url)
    assert set(counts) == expected_pairs(ids, through)  # no gap
    assert set(counts.values()) == {1}  # no duplicate


def test_a_worker_killed_mid_way_through_a_multi_day_catch_up_accrues_each_day_once(
    pg_url: str,
) -> None:
    """Spans of 30 days (300 loan-days a batch of 10), 60 loans x 150 days: five spans of six
    batches, each batch one read and one save of 30 days. Killed (SIGKILL) once some spans
    are saved and before the end, the restarted worker leaves one accrual per loan per day."""
    ids = open_book(pg_url, 60)
    through = FIRST + timedelta(days=149)
    spans = {"LEDGER_CATCH_UP_LOAN_DAYS": "300"}
    first = worker(pg_url, "--through", through.isoformat(), **spans)
    partial = kill_once_stored(pg_url, first, 60 * 70, within=120)  # into the third span
    assert 60 * 60 < len(partial) < len(expected_pairs(ids, through)), "killed half-way"
    assert set(partial.values()) == {1}

    second = worker(pg_url, "--through", through.isoformat(), "--json", **spans)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    counts = accrual_counts(pg_url)
    assert set(counts) == expected_pairs(ids, through)  # no gap
    assert set(counts.values()) == {1}  # no duplicate
    assert f'"last_closed": "{through.isoformat()}"' in out


def test_two_workers_given_the_same_partition_never_double_accrue(pg_url: str) -> None:
    ids = open_book(pg_url, 60)
    through = date(2026, 2, 15)
    args = ("--through", through.isoformat(), "--partitions", "2", "--partition", "0")
    twins = [worker(pg_url, *args), worker(pg_url, *args)]
    for process in twins:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    other = worker(
        pg_url, "--through", through.isoformat(), "--partitions", "2", "--partition", "1"
    )
    _, err = other.communicate(timeout=240)
    assert other.returncode == 0, err
    counts = accrual_counts(pg_url)
    assert set(counts.values()) == {1}
    assert set(counts) == expected_pairs(ids, through)
    zero = [i for i in ids if partition_of(i, 2) == 0]
    assert zero and len(zero) < len(ids)


def test_sigterm_finishes_the_batch_stops_cleanly_and_the_next_start_resumes(
    pg_url: str,
) -> None:
    ids = open_book(pg_url, 40)
    through = date(2026, 2, 28)
    first = worker(pg_url, "--through", through.isoformat(), "--json")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(accrual_counts(pg_url)) < 40 * 10:
        time.sleep(0.05)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert '"stopped": true' in out
    assert '"signal": "SIGTERM"' in err
    assert len(accrual_counts(pg_url)) < len(expected_pairs(ids, through))

    second = worker(pg_url, "--through", through.isoformat())
    _, err = second.communicate(timeout=240)
    assert second.returncode == 0, err
    counts = accrual_counts(pg_url)
    assert set(counts) == expected_pairs(ids, through)
    assert set(counts.values()) == {1}
