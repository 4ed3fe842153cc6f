"""The close-of-business worker: catch-up, reruns, stops, faults, jobs (no sleeping tests)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.persistence import OperationalError

from ledger.adapters.clock import FakeClock
from ledger.adapters.gateway import GatewaySettings
from ledger.domain.loan import Loan
from ledger.read.status import status_report
from ledger.services.application import LedgerApp
from projections import Projections
from scheduler.worker import Worker, WorkerSettings
from tests.store.test_close_of_business import accruals_per_loan_day, event_count, open_loans

SHANGHAI_0700_FEB_10 = datetime(2026, 2, 9, 23, 0, tzinfo=UTC)  # 2026-02-10 07:00 in Shanghai


def make_worker(db_url: str, clock: FakeClock, **settings: Any) -> Worker:
    return Worker(lambda: LedgerApp.from_url(db_url), WorkerSettings(**settings), clock=clock)


def pass_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The worker's records of its passes: their structured fields (``ledger worker`` writes
    each record as one JSON line of time, level, logger, message and these fields)."""
    lines = [getattr(r, "fields", {}) for r in caplog.records if r.name == "ledger.worker"]
    return [line for line in lines if line.get("event") == "pass"]


def test_the_business_day_comes_from_the_clock_in_the_business_timezone(db_url: str) -> None:
    worker = make_worker(db_url, FakeClock(SHANGHAI_0700_FEB_10))
    assert worker.business_today() == date(2026, 2, 10)
    utc = make_worker(db_url, FakeClock(SHANGHAI_0700_FEB_10), timezone="UTC")
    assert utc.business_today() == date(2026, 2, 9)


def test_a_worker_catches_up_every_missed_day_in_order_and_reports_each(
    app: LedgerApp, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    open_loans(app, 3, start="2026-02-01")
    caplog.set_level(logging.INFO, logger="ledger.worker")
    worker = make_worker(db_url, FakeClock(SHANGHAI_0700_FEB_10))
    worker.run_due()
    lines = pass_lines(caplog)
    closed = [line["date"] for line in lines if line["pass"] == "end_of_day"]
    assert closed == [f"2026-02-{d:02d}" for d in range(1, 10)]
    assert lines[-1]["pass"] == "morning" and lines[-1]["date"] == "2026-02-10"
    assert all(line["loans"] == 3 for line in lines if line["pass"] == "end_of_day")
    assert app.get_calendar().last_closed == date(2026, 2, 9)


def test_a_worker_down_for_a_week_catches_up_the_week_on_start(
    app: LedgerApp, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    open_loans(app, 2, start="2026-02-01")
    clock = FakeClock(SHANGHAI_0700_FEB_10)
    make_worker(db_url, clock).run_due()
    caplog.clear()
    caplog.set_level(logging.INFO, logger="ledger.worker")
    clock.advance(days=7)
    make_worker(db_url, clock).run_due()
    closed = [line["date"] for line in pass_lines(caplog) if line["pass"] == "end_of_day"]
    assert closed == [f"2026-02-{d:02d}" for d in range(10, 17)]
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1} and len(counts) == 2 * 16


def test_running_what_is_due_twice_is_a_no_op(app: LedgerApp, db_url: str) -> None:
    open_loans(app, 3, start="2026-01-01")
    clock = FakeClock(SHANGHAI_0700_FEB_10)
    make_worker(db_url, clock).run_due()
    before = event_count(app)
    make_worker(db_url, clock).run_due()
    assert event_count(app) == before


def test_before_the_morning_time_only_the_missing_days_run(app: LedgerApp, db_url: str) -> None:
    open_loans(app, 1, start="2026-01-10")
    clock = FakeClock(datetime(2026, 2, 9, 18, 0, tzinfo=UTC))  # 02:00 on Feb 10 in Shanghai
    make_worker(db_url, clock).run_due()
    loan = app.get_loan("L0")
    assert loan.closed_through == date(2026, 2, 9)
    assert loan.installments == []  # due Feb 10: its morning has not run yet
    clock.advance(hours=5)
    make_worker(db_url, clock).run_due()
    assert [i.due_date for i in app.get_loan("L0").installments] == [date(2026, 2, 10)]


def test_a_stop_request_finishes_the_batch_and_the_next_start_resumes_exactly_once(
    app: LedgerApp, db_url: str
) -> None:
    open_loans(app, 6, start="2026-01-01")
    clock = FakeClock(SHANGHAI_0700_FEB_10)
    calls = {"n": 0}

    def stop_after_a_few_batches(day: str, done: int, total: int) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            worker.request_stop()  # what SIGTERM does

    worker = Worker(  # spans of 5 days (10 loan-days a batch): several spans to stop in
        lambda: LedgerApp.from_url(db_url, batch_size=2, catch_up_loan_days=10),
        WorkerSettings(),
        clock=clock,
        progress=stop_after_a_few_batches,
    )
    worker.run_due()
    assert worker.stopping
    last = app.get_calendar().last_closed
    assert last is not None and last < date(2026, 2, 9)
    make_worker(db_url, clock).run_due()
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1}
    assert len(counts) == 6 * 40  # Jan 1 .. Feb 9


def test_when_the_database_goes_away_the_worker_backs_off_and_resumes(
    app: LedgerApp, db_url: str
) -> None:
    open_loans(app, 2, start="2026-02-01")
    clock = FakeClock(SHANGHAI_0700_FEB_10)
    attempts = {"n": 0}

    def flaky_factory() -> LedgerApp:
        attempts["n"] += 1
        if attempts["n"] <= 3:
            raise OperationalError("connection refused")
        return LedgerApp.from_url(db_url)

    worker = Worker(flaky_factory, WorkerSettings(), clock=clock)
    worker.run_due()
    assert clock.slept == [1.0, 2.0, 4.0]
    assert app.get_calendar().last_closed == date(2026, 2, 9)


def test_a_failing_loan_is_skipped_reported_in_status_and_retried_next_pass(
    app: LedgerApp, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_loans(app, 3, start="2026-02-01")
    bad = app.get_loan("L2").id
    real = Loan.close_day

    def flaky(self: Loan, on: date) -> None:
        if self.id == bad:
            raise RuntimeError("corrupt state")
        real(self, on)

    monkeypatch.setattr(Loan, "close_day", flaky)
    clock = FakeClock(SHANGHAI_0700_FEB_10)
    make_worker(db_url, clock).run_due()
    report = status_report(app, date(2026, 2, 10))
    [partition] = report["partitions"]
    assert partition["behind"] is True
    assert [f["loan_id"] for f in partition["failures"]] == [str(bad)]
    assert "corrupt state" in partition["failures"][0]["error"]
    assert app.get_loan("L0").closed_through == date(2026, 2, 9)  # the others ran

    monkeypatch.setattr(Loan, "close_day", real)
    make_worker(db_url, clock).run_due()
    report = status_report(app, date(2026, 2, 10))
    [partition] = report["partitions"]
    assert partition["behind"] is False and partition["failures"] == []
    assert set(accruals_per_loan_day(app).values()) == {1}


def test_status_counts_loans_by_status(app: LedgerApp, db_url: str) -> None:
    open_loans(app, 3, start="2026-01-01")
    app.set_balance("L1", Decimal("0"))
    app.prepay("L2", date(2026, 1, 5))
    make_worker(db_url, FakeClock(SHANGHAI_0700_FEB_10)).run_due()
    assert status_report(app, date(2026, 2, 10))["loans"] == {
        "active": 1,
        "overdue": 1,
        "closed": 1,
    }


def test_after_each_pass_the_worker_catches_every_projection_up(
    app: LedgerApp, db_url: str
) -> None:
    open_loans(app, 3, start="2026-01-01")
    app.set_balance("L1", Decimal("0"))
    make_worker(db_url, FakeClock(SHANGHAI_0700_FEB_10)).run_due()
    projections = Projections(app)
    assert all(s.lag == 0 and s.position > 0 for s in projections.status())
    assert projections.portfolio.last_business_day() == date(2026, 2, 9)
    loan = app.get_loan("L1")
    row = projections.balances.read(loan.id)
    assert row is not None and row["version"] == loan.version and row["status"] == "overdue"
    assert app.loan_events("L1")[-1].recorded_by == "worker:0/1"  # who caused the events


def test_the_daily_jobs_have_fixed_ids_and_are_replaced_not_duplicated(db_url: str) -> None:
    settings = WorkerSettings(morning_at=time(6, 30), partition=1, partitions=2)
    scheduler = BackgroundScheduler(timezone=settings.tz)
    for _ in range(2):  # a restart registers the jobs again
        make_worker(
            db_url,
            FakeClock(SHANGHAI_0700_FEB_10),
            morning_at=time(6, 30),
            partition=1,
            partitions=2,
        ).build_scheduler(scheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"ledger-morning-1-of-2", "ledger-end-of-day-1-of-2"}
        for job in jobs.values():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 6 * 3600
        assert str(jobs["ledger-morning-1-of-2"].trigger.fields[5]) == "6"  # hour
        assert str(jobs["ledger-morning-1-of-2"].trigger.fields[6]) == "30"  # minute
        assert str(jobs["ledger-end-of-day-1-of-2"].trigger.fields[5]) == "0"
        assert str(jobs["ledger-end-of-day-1-of-2"].trigger.fields[6]) == "5"
        assert str(jobs["ledger-morning-1-of-2"].trigger.timezone) == "Asia/Shanghai"
    finally:
        scheduler.shutdown(wait=False)


def test_with_an_asynchronous_gateway_the_worker_records_each_result_after_the_morning(
    db_url: str,
) -> None:
    """Loan L0 from 2026-01-10 falls due on 02-10: that morning requests it; the simulated
    bank answers a day later, so the next morning's pass records the result (once, however
    often the worker runs) and the installment is paid on 02-10."""
    delayed = GatewaySettings(delay_days=1)
    app = LedgerApp.from_url(db_url, gateway=delayed)
    try:
        open_loans(app, 1, start="2026-01-10")
        clock = FakeClock(SHANGHAI_0700_FEB_10)
        worker = Worker(
            lambda: LedgerApp.from_url(db_url, gateway=delayed), WorkerSettings(), clock=clock
        )
        worker.run_due()
        assert [r.requested_on for r in app.pending_requests()] == [date(2026, 2, 10)]
        clock.advance(days=1)
        worker.run_due()
        before = event_count(app)
        worker.run_due()
        assert event_count(app) == before
        assert app.pending_requests() == []
        first = app.get_loan("L0").installments[0]
        assert first.principal_paid == first.principal and first.settled_on == date(2026, 2, 10)
    finally:
        app.close()
