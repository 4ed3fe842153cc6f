"""Loans kept in memory between passes (:mod:`ledger.services.resident`), on SQLite and
PostgreSQL: later passes read no kept loan back, give exactly the events of a process that
keeps none, and a loan written by anyone else since is read again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp
from tests.store.test_catch_up import loan_events
from tests.store.test_catch_up import twin_url as twin_url  # the fixture
from tests.store.test_projections import random_book

START = date(2026, 1, 1)
KEPT = 1_000  # loans a worker keeps (an application built directly keeps none)


def count_reads(app: LedgerApp) -> list[UUID]:
    """Every loan the app's batched reads load from the store, as they happen (not the
    linked accounts the bank reads)."""
    read: list[UUID] = []
    load_many = app.reader.load_many

    def counted(ids: Sequence[UUID]) -> dict[UUID, Any]:
        found = load_many(ids)
        read.extend(i for i, a in found.items() if isinstance(a, Loan))
        return found

    app.reader.load_many = counted  # type: ignore[method-assign]
    return read


def test_a_pass_after_the_first_reads_no_kept_loan_back(db_url: str) -> None:
    app = LedgerApp.from_url(db_url, catch_up_loan_days=1, resident_loans=KEPT)  # a day a pass
    try:
        refs = random_book(app, seed=7, loans=12, days=20)
        open_ids = [app.get_loan(r).id for r in refs if not app.get_loan(r).is_closed]
        read = count_reads(app)
        app.close_days(START + timedelta(days=21))
        assert read == [] and len(app.resident) >= len(open_ids) > 0
        app.run_mornings(START + timedelta(days=22))
        assert read == []
    finally:
        app.close()


def test_a_book_run_with_kept_loans_records_the_events_of_one_that_keeps_none(
    db_url: str, twin_url: str
) -> None:
    kept = LedgerApp.from_url(db_url, catch_up_loan_days=1, resident_loans=KEPT)
    none = LedgerApp.from_url(twin_url, catch_up_loan_days=1, resident_loans=0)
    try:
        for app in (kept, none):
            random_book(app, seed=11, loans=15, days=70, newer_terms=True)
        assert len(kept.resident) > 0 and len(none.resident) == 0
        assert loan_events(kept) == loan_events(none)
    finally:
        kept.close()
        none.close()


def test_a_loan_written_by_another_process_is_read_again_before_its_day(db_url: str) -> None:
    worker = LedgerApp.from_url(db_url, catch_up_loan_days=1, resident_loans=KEPT)
    teller = LedgerApp.from_url(db_url)  # another process: a command on the same store
    try:
        refs = random_book(worker, seed=3, loans=6, days=15)
        end = START + timedelta(days=15)
        ref = next(r for r in refs if worker.get_loan(r).closed_through == end)  # it ran
        loan_id = worker.get_loan(ref).id
        assert worker.resident.take([loan_id])  # kept by the last pass (and put back below)
        worker.resident.keep([worker.get_loan(ref)])
        teller.prepay(ref, START + timedelta(days=16), amount=Decimal("100.00"))
        read = count_reads(worker)
        worker.close_days(START + timedelta(days=16))
        assert read == [loan_id]  # only the loan the teller wrote to
        events = worker.loan_events(ref)
        repaid = next(e for e in reversed(events) if isinstance(e, Loan.Prepaid))
        accrued = events[-1]
        assert isinstance(accrued, Loan.InterestAccrued) and accrued.on == repaid.on
        assert accrued.originator_version == repaid.originator_version + 1
    finally:
        worker.close()
        teller.close()


def test_no_more_loans_are_kept_than_the_setting_allows(db_url: str) -> None:
    app = LedgerApp.from_url(db_url, resident_loans=4, batch_size=3)
    try:
        random_book(app, seed=5, loans=10, days=10)
        assert 4 <= len(app.resident) <= 4 + 3  # the bound, over by one batch at most
        app.close_days(START + timedelta(days=11))
        assert 4 <= len(app.resident) <= 4 + 3
    finally:
        app.close()


def test_a_loan_whose_day_raised_is_not_kept(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = LedgerApp.from_url(db_url, catch_up_loan_days=1, resident_loans=KEPT)
    try:
        refs = random_book(app, seed=9, loans=6, days=25)
        end = START + timedelta(days=25)
        refs = [r for r in refs if app.get_loan(r).closed_through == end]  # open, and running
        bad = app.get_loan(refs[0]).id
        action = type(app)._days

        def fails_for_one(self: LedgerApp, loan: Loan, day: date, bank: Any) -> None:
            if loan.id == bad:
                raise RuntimeError("boom")
            action(self, loan, day, bank)

        monkeypatch.setattr(type(app), "_days", fails_for_one)
        report = app.close_days(START + timedelta(days=26))
        assert [f["loan_id"] for f in report.failures] == [str(bad)]
        assert app.resident.take([bad]) == {}
        others = [app.get_loan(r).id for r in refs[1:]]
        assert len(others) >= 2 and app.resident.take(others).keys() == set(others)
    finally:
        app.close()
