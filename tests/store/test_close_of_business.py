"""Close-of-business on a real store (SQLite and PostgreSQL): batches, idempotency, resume."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from ledger.adapters.sql import Sql
from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input


def open_loans(app: LedgerApp, count: int, start: str = "2026-01-01", **extra: Any) -> list[str]:
    refs = []
    for i in range(count):
        products = [
            "borrow_and_return",
            "repay_on_schedule",
            "interest_first",
            "equal_principal",
            "mall_installment",
        ]
        terms = terms_from_input(
            product=products[i % 5],
            principal=f"{1000 + 137 * i}.00",
            term=3,
            disbursed_on=date.fromisoformat(start),
            daily_rate="0.0005",
            **extra,
        )
        refs.append(app.open_loan(terms, f"L{i}").label)
    return refs


def accruals_per_loan_day(app: LedgerApp) -> Counter[tuple[UUID, date]]:
    topic = get_topic(Loan.InterestAccrued)
    counts: Counter[tuple[UUID, date]] = Counter()
    for n in app.recorder.select_notifications(start=None, limit=10**9, topics=[topic]):
        event = app.mapper.to_domain_event(n)
        assert isinstance(event, Loan.InterestAccrued) and isinstance(n.originator_id, UUID)
        counts[(n.originator_id, event.on)] += 1
    return counts


def event_count(app: LedgerApp) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10**9))


def test_a_rerun_of_close_of_business_is_a_no_op(app: LedgerApp) -> None:
    open_loans(app, 4)
    first = app.close_days(date(2026, 1, 20))
    assert len(first.days) == 20
    assert first.loan_days == 80
    before = event_count(app)
    again = app.close_days(date(2026, 1, 20))
    assert again.days == [] and again.loan_days == 0
    assert event_count(app) == before


def test_every_open_loan_accrues_exactly_once_per_business_day(app: LedgerApp) -> None:
    open_loans(app, 5)
    app.batch_size = 2
    app.close_days(date(2026, 2, 10))
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1}
    days = {d for (_, d) in counts}
    assert days == {date(2026, 1, 1) + timedelta(days=i) for i in range(41)}


def test_a_pass_stopped_half_way_resumes_without_duplicating_or_skipping_a_loan(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_loans(app, 5)
    app.batch_size = 2
    app.close_days(date(2026, 1, 5))
    real = app._run_batch
    calls = {"n": 0}

    def crash_on_second_batch(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(app, "_run_batch", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        app.close_days(date(2026, 1, 10))
    monkeypatch.setattr(app, "_run_batch", real)
    assert app.get_calendar().last_closed == date(2026, 1, 5)
    report = app.close_days(date(2026, 1, 10))
    assert report.days[0] == date(2026, 1, 6)
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1}
    assert len(counts) == 5 * 10


def test_a_loan_that_fails_is_reported_and_skipped_and_retried_on_the_next_pass(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_loans(app, 3)
    bad = app.get_loan("L1").id
    real = Loan.close_day

    def flaky(self: Loan, on: date) -> None:
        if self.id == bad:
            raise RuntimeError("boom")
        real(self, on)

    monkeypatch.setattr(Loan, "close_day", flaky)
    report = app.close_days(date(2026, 1, 3))
    assert [f["loan_id"] for f in report.failures] == [str(bad)]
    assert "boom" in report.failures[0]["error"]
    assert app.get_calendar().last_closed is None  # the day stays open
    assert app.get_loan("L0").closed_through == date(2026, 1, 3)  # the others ran the span
    assert app.get_loan("L1").closed_through == date(2025, 12, 31)
    monkeypatch.setattr(Loan, "close_day", real)
    report = app.close_days(date(2026, 1, 3))
    assert report.failures == []
    assert app.get_calendar().last_closed == date(2026, 1, 3)
    assert set(accruals_per_loan_day(app).values()) == {1}


def test_a_command_catches_its_loan_up_and_close_of_business_skips_what_it_ran(
    app: LedgerApp,
) -> None:
    open_loans(app, 2)
    app.set_balance("L0", Decimal("0"))
    app.close_days(date(2026, 1, 10))
    app.repay("L0", Decimal("10.00"), date(2026, 2, 3))  # L0 runs Jan 11 .. morning of Feb 3
    loan = app.get_loan("L0")
    assert loan.closed_through == date(2026, 2, 2)
    assert app.get_loan("L1").closed_through == date(2026, 1, 10)
    app.close_days(date(2026, 2, 5))
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1}
    assert len(counts) == 2 * 36


def test_the_same_day_cannot_be_accrued_twice_even_by_two_writers(db_url: str) -> None:
    first = LedgerApp.from_url(db_url)
    second = LedgerApp.from_url(db_url)
    open_loans(first, 1)
    a = first.get_loan("L0")
    b = second.get_loan("L0")
    a.close_day(date(2026, 1, 1))
    b.close_day(date(2026, 1, 1))
    first.save(a)
    with pytest.raises(IntegrityError):
        second.save(b)
    assert set(accruals_per_loan_day(first).values()) == {1}


def test_a_batch_that_meets_a_concurrent_write_reloads_and_retries(db_url: str) -> None:
    worker = LedgerApp.from_url(db_url)
    clerk = LedgerApp.from_url(db_url)
    open_loans(worker, 3)
    worker.close_days(date(2026, 1, 31))
    real = worker.reader.load_many
    state = {"interfered": False}

    def load_then_interfere(ids: Any) -> Any:
        loaded = real(ids)
        if not state["interfered"] and any(isinstance(a, Loan) for a in loaded.values()):
            state["interfered"] = True
            clerk.prepay("L0", date(2026, 2, 1), amount=Decimal("100.00"))
        return loaded

    worker.reader.load_many = load_then_interfere  # type: ignore[method-assign]
    report = worker.close_days(date(2026, 2, 1))
    assert state["interfered"]
    assert report.failures == []
    assert set(accruals_per_loan_day(worker).values()) == {1}
    assert worker.get_loan("L0").closed_through == date(2026, 2, 1)


def test_a_short_linked_account_pays_what_it_has_and_the_rest_stays_due(app: LedgerApp) -> None:
    open_loans(app, 1)
    app.set_balance("L0", Decimal("100.00"))
    app.close_days(date(2026, 2, 1))
    loan = app.get_loan("L0")
    [deducted] = [e for e in app.events.get(loan.id) if isinstance(e, Loan.InstallmentDeducted)]
    assert deducted.collected == Decimal("100.00")
    assert deducted.requested > Decimal("100.00")
    assert loan.amount_due == deducted.requested - Decimal("100.00")
    assert loan.loan_status == "overdue"


def test_batched_loading_gives_the_same_loan_as_the_repository_with_snapshots(
    app: LedgerApp,
) -> None:
    open_loans(app, 3)
    app.close_days(date(2026, 3, 20))  # ~80 days: several snapshots per loan
    assert app.snapshots is not None
    for ref in ("L0", "L1", "L2"):
        expected = app.get_loan(ref)
        assert list(app.snapshots.get(expected.id)), "a snapshot was taken"
        loaded = app.reader.load_many([expected.id])[expected.id]
        assert vars(loaded) == vars(expected)


def test_state_as_of_a_past_business_day_is_rebuilt_from_the_events_up_to_it(
    app: LedgerApp,
) -> None:
    open_loans(app, 1)
    app.set_balance("L0", Decimal("0"))
    app.close_days(date(2026, 2, 10))
    then = app.loan_as_of("L0", date(2026, 1, 31))
    assert then.closed_through == date(2026, 1, 31)
    assert then.installments == []
    now = app.get_loan("L0")
    assert now.installments[0].overdue_from == date(2026, 2, 2)


def test_events_are_stored_as_json_a_person_can_read(app: LedgerApp) -> None:
    open_loans(app, 1)
    app.close_days(date(2026, 1, 1))
    [notification] = app.recorder.select_notifications(
        start=None, limit=10, topics=[get_topic(Loan.InterestAccrued)]
    )
    data = json.loads(notification.state)  # compact: amounts and dates as their plain text
    assert data["on"] == "2026-01-01"
    assert data["base"] == "1000.00"
    assert data["penalties"] == [] and data["into"] == "period"
    sql = Sql(app)
    rows = sql.query(
        f"SELECT state FROM {sql.table('ledger_events_readable')} WHERE notification_id = ?",
        [notification.id],
    )  # and the SQL view shows it as JSON (PostgreSQL: a json column, SQLite: text)
    shown = rows[0][0]
    assert (json.loads(shown) if isinstance(shown, str) else shown) == data


def test_partitions_together_cover_every_loan_exactly_once(app: LedgerApp) -> None:
    open_loans(app, 9)
    reports = [app.close_days(date(2026, 1, 3), partition=p, partitions=3) for p in range(3)]
    assert sum(r.loans for r in reports) == 9
    counts = accruals_per_loan_day(app)
    assert len(counts) == 9 * 3 and set(counts.values()) == {1}


def test_the_events_stay_in_the_ledger_events_table_whatever_class_runs_the_store(
    db_url: str,
) -> None:
    """The library names an application's tables after its class unless told: a refactor
    that renamed the class once moved a whole PostgreSQL store's events out of sight (SQLite's
    table names do not depend on it)."""
    app = LedgerApp.from_url(db_url)
    try:
        name = getattr(app.recorder, "events_table_name", "stored_events")
    finally:
        app.close()
    assert name in ("ledger_events", "stored_events")
    assert ("postgres" in db_url) == (name == "ledger_events")
