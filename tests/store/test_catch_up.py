"""Catch-up in spans (issue 18, item 2), on SQLite and PostgreSQL: a batch of loans runs every
missing day of a span per read and save, and gives exactly the events of a pass per day; the
calendar records every day in order; stops, failures and concurrent writers as before."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.adapters.gateway import GatewaySettings
from ledger.domain.calendar import BusinessCalendar, calendar_id_for
from ledger.domain.loan import Loan
from ledger.services.application import DayReport, LedgerApp
from ledger.services.products import terms_from_input
from tests.conftest import _drop_schema, _postgres_url
from tests.store.test_close_of_business import accruals_per_loan_day, open_loans
from tests.store.test_projections import random_book

VOLATILE = {"timestamp", "chain", "recorded_by"}  # when and by whom, not what


@pytest.fixture
def twin_url(db_url: str, tmp_path: Any) -> Iterator[str]:
    """A second empty store of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
    base = _postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    _drop_schema(base, schema)


def loan_events(app: LedgerApp) -> dict[UUID, list[tuple[str, dict[str, Any]]]]:
    """Every loan's events: class and fields (all but when and by whom), in version order."""
    events: dict[UUID, list[tuple[str, dict[str, Any]]]] = {}
    for loan_id in app.directory.all_loan_ids():
        events[loan_id] = [
            (type(e).__name__, {k: v for k, v in vars(e).items() if k not in VOLATILE})
            for e in app.events.get(loan_id)
        ]
    return events


def open_late(app: LedgerApp, on: date) -> None:
    for i, product in enumerate(["repay_on_schedule", "interest_first", "borrow_and_return"]):
        terms = terms_from_input(
            product=product, principal="2000.00", term=2, disbursed_on=on, daily_rate="0.0005"
        )
        app.open_loan(terms, f"LATE{i}")


def days_closed(app: LedgerApp) -> list[tuple[date, int, int]]:
    """The calendar's record: each day closed, with its loans and events."""
    return [
        (e.on, e.loans, e.events)
        for e in app.events.get(calendar_id_for())
        if isinstance(e, BusinessCalendar.DayClosed)
    ]


def test_a_catch_up_in_spans_records_exactly_the_events_of_one_day_at_a_time(
    db_url: str, twin_url: str
) -> None:
    """Two stores, the same book (every product, short and empty accounts, payments between
    catch-ups of 5 to 25 days, loans that close), one run in spans and one day by day (a
    setting below the batch size); then a catch-up of 200 days. Every loan's events, the
    calendar's days and its counts are the same."""
    spans = LedgerApp.from_url(db_url, batch_size=3)
    by_day = LedgerApp.from_url(twin_url, batch_size=3, catch_up_loan_days=1)
    try:
        assert spans.span_days() == 366 and by_day.span_days() == 1
        for app in (spans, by_day):
            random_book(app, seed=18, loans=10, days=90, newer_terms=True)
            open_late(app, date(2026, 5, 10))  # opened in the middle of the next span
            app.close_days(date(2026, 10, 20))
        assert loan_events(spans) == loan_events(by_day)
        assert days_closed(spans) == days_closed(by_day)
        days = [d for d, _, _ in days_closed(spans)]
        assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
        closed = [spans.get_loan(i) for i in spans.directory.all_loan_ids()]
        assert any(loan.is_closed for loan in closed), "no loan closed during the catch-up"
    finally:
        spans.close()
        by_day.close()


def test_with_an_asynchronous_gateway_spans_request_as_days_do(db_url: str, twin_url: str) -> None:
    """Loan-rules section 17: a catch-up requests each due deduction the morning it falls due,
    one in flight at a time, whatever the span; the results, polled after it, are the same."""
    delayed = GatewaySettings(delay_days=2)
    spans = LedgerApp.from_url(db_url, gateway=delayed)
    by_day = LedgerApp.from_url(twin_url, gateway=delayed, catch_up_loan_days=1)
    try:
        for app in (spans, by_day):
            open_loans(app, 5, start="2026-01-10")
            app.set_balance("L1", Decimal("0"))
            app.close_days(date(2026, 4, 20))
            app.poll_gateway(date(2026, 4, 21))
        assert loan_events(spans) == loan_events(by_day)
        assert [r.request_id for r in spans.pending_requests()] == [
            r.request_id for r in by_day.pending_requests()
        ]
    finally:
        spans.close()
        by_day.close()


def test_each_loan_is_read_once_and_saved_once_per_span(app: LedgerApp) -> None:
    open_loans(app, 5)
    app.batch_size = 2  # three batches
    app.catch_up_loan_days = 60  # spans of 30 days
    reads: Counter[UUID] = Counter()
    saves: Counter[UUID] = Counter()
    read, save = app.reader.load_many, app.save_batch

    def counting_read(ids: Any) -> Any:
        reads.update(i for i in ids if i in loans)
        return read(ids)

    def counting_save(aggregates: Any) -> Any:
        saves.update(a.id for a in aggregates if isinstance(a, Loan))
        return save(aggregates)

    app.directory.catch_up()
    loans = set(app.directory.all_loan_ids())
    assert len(loans) == 5
    app.reader.load_many = counting_read  # type: ignore[method-assign]
    app.save_batch = counting_save  # type: ignore[method-assign]
    report = app.close_days(date(2026, 3, 1))  # 60 days: two spans
    assert len(report.days) == 60 and report.loan_days == 5 * 60
    assert reads == {i: 2 for i in loans} and saves == {i: 2 for i in loans}
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1} and len(counts) == 5 * 60


def test_every_day_of_a_span_is_reported_in_order_with_its_own_counts(app: LedgerApp) -> None:
    open_loans(app, 2)
    open_late(app, date(2026, 1, 5))  # three more from the fifth day
    reports: list[DayReport] = []
    app.close_days(date(2026, 1, 10), on_day=reports.append)
    assert [r.day for r in reports] == [date(2026, 1, d) for d in range(1, 11)]
    assert all(r.span == (date(2026, 1, 1), date(2026, 1, 10)) for r in reports)
    assert [r.loans for r in reports] == [2] * 4 + [5] * 6
    assert [(r.day, r.loans, r.events) for r in reports] == days_closed(app)
    assert sum(r.events for r in reports) == sum(e for _, _, e in days_closed(app))
    assert reports[0].seconds == pytest.approx(reports[0].span_seconds / 10)


def test_a_stop_between_batches_leaves_the_span_open_and_the_next_pass_runs_it_once(
    app: LedgerApp,
) -> None:
    open_loans(app, 6)
    app.batch_size = 2
    app.catch_up_loan_days = 20  # spans of 10 days, three batches each
    asked = {"n": 0}

    def stop() -> bool:
        asked["n"] += 1
        return asked["n"] == 6  # before the second batch of the second span

    first = app.close_days(date(2026, 2, 9), stop=stop)
    assert first.stopped and first.days == [date(2026, 1, d) for d in range(1, 11)]
    assert app.get_calendar().last_closed == date(2026, 1, 10)
    ahead = [app.get_loan(f"L{i}").closed_through for i in range(6)]
    assert sorted(ahead).count(date(2026, 1, 20)) == 2  # one batch ran the second span
    second = app.close_days(date(2026, 2, 9))
    assert second.days[0] == date(2026, 1, 11) and second.last_closed == date(2026, 2, 9)
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1} and len(counts) == 6 * 40


def test_a_loan_that_fails_mid_span_keeps_its_earlier_days_and_holds_the_calendar_there(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_loans(app, 4)
    app.batch_size = 2
    bad = app.get_loan("L1").id
    real = Loan.close_day

    def flaky(self: Loan, on: date) -> None:
        if self.id == bad and on >= date(2026, 1, 7):
            raise RuntimeError("boom")
        real(self, on)

    monkeypatch.setattr(Loan, "close_day", flaky)
    report = app.close_days(date(2026, 1, 20))
    assert [(f["loan_id"], f["day"]) for f in report.failures] == [(str(bad), "2026-01-07")]
    assert app.get_loan("L1").closed_through == date(2026, 1, 6)  # its days before: saved
    others = {app.get_loan(f"L{i}").closed_through for i in (0, 2, 3)}
    assert others == {date(2026, 1, 20)}  # the others ran the whole span
    assert app.get_calendar().last_closed == date(2026, 1, 6)
    assert report.days == [date(2026, 1, d) for d in range(1, 7)]

    monkeypatch.setattr(Loan, "close_day", real)
    again = app.close_days(date(2026, 1, 20))
    assert again.failures == [] and again.days[0] == date(2026, 1, 7)
    assert again.loan_days == 14  # only L1 had days left
    counts = accruals_per_loan_day(app)
    assert set(counts.values()) == {1} and len(counts) == 4 * 20


def test_a_span_whose_last_part_meets_a_writer_is_redone_and_counted_once(db_url: str) -> None:
    """Each loan a save part of its own; a clerk writes to the batch's last loan while the
    span runs: the parts before it stay committed, the batch is reloaded, those loans skip
    the span, the last one runs the days it has left; every loan-day counts once."""
    worker = LedgerApp.from_url(db_url)
    clerk = LedgerApp.from_url(db_url)
    try:
        refs = open_loans(worker, 4)
        worker.max_events_per_save = 1
        last = max(refs, key=lambda r: str(clerk.get_loan(r).id))
        real = worker.reader.load_many
        state = {"interfered": False, "clerk_events": 0}

        def load_then_interfere(ids: Any) -> Any:
            loaded = real(ids)
            if not state["interfered"] and len(ids) == len(refs):
                state["interfered"] = True
                before = len(clerk.recorder.select_notifications(start=None, limit=10**9))
                clerk.prepay(last, date(2026, 1, 12), amount=Decimal("100.00"))
                after = len(clerk.recorder.select_notifications(start=None, limit=10**9))
                state["clerk_events"] = after - before
            return loaded

        worker.reader.load_many = load_then_interfere  # type: ignore[method-assign]
        before = len(worker.recorder.select_notifications(start=None, limit=10**9))
        report = worker.close_days(date(2026, 1, 31))
        after = len(worker.recorder.select_notifications(start=None, limit=10**9))
        assert state["interfered"] and report.failures == []
        counts = accruals_per_loan_day(worker)
        assert set(counts.values()) == {1} and len(counts) == 4 * 31
        assert report.loan_days == 4 * 31 - 11  # the clerk's prepayment ran 11 days of one
        calendar = 1 + 31  # started, then 31 days closed
        assert report.events == after - before - state["clerk_events"] - calendar
        assert sum(e for _, _, e in days_closed(worker)) == report.events
    finally:
        worker.close()
        clerk.close()
