"""Write-off and recovery (loan-rules §14), in memory: the ``Loan`` aggregate's commands, the
figures after them, the journal's postings and the replay of their facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from ledger.domain.accounting import positions_of, postings
from ledger.domain.business_day import advance_to, run_through
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.replay import replay
from ledger.services.products import terms_from_input

D = Decimal


class NoMoney:
    """A linked account that never has money: every deduction fails."""

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        return D(0)


def overdue_loan() -> Loan:
    """12,000.00 over 12 months at 0.05 % a day, never paid: three installments overdue on
    2026-04-21, whose morning has run."""
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="12000.00",
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    loan = Loan.disburse(terms, loan_id=uuid4(), reference="WO-1")
    advance_to(loan, date(2026, 4, 21), NoMoney())
    return loan


def test_a_write_off_takes_everything_owed_off_the_book_by_part() -> None:
    loan = overdue_loan()
    before = loan.figures()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    event = loan.pending_events[-1]
    assert isinstance(event, Loan.WrittenOff)
    assert event.principal == D("12000.00")
    assert event.interest == before.interest_accrued + sum(
        (row["interest"] for row in event.owed), D(0)
    )
    assert event.penalty == before.penalty_accrued
    assert event.total == event.principal + event.interest + event.penalty
    f = loan.figures()
    assert (f.status, f.principal_outstanding, f.amount_due, f.penalty_accrued) == (
        "written_off",
        D(0),
        D(0),
        D(0),
    )
    assert (f.days_past_due, f.written_off, f.written_off_outstanding) == (
        0,
        event.total,
        event.total,
    )


def test_a_written_off_loan_accrues_nothing_and_is_not_deducted() -> None:
    loan = overdue_loan()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    count = len(loan.pending_events)
    run_through(loan, date(2026, 8, 1), NoMoney())
    advance_to(loan, date(2026, 8, 2), NoMoney())
    assert len(loan.pending_events) == count
    assert loan.is_closed and loan.closed_through == date(2026, 4, 20)


def test_a_recovery_reduces_the_written_off_amount_and_more_than_it_is_refused() -> None:
    loan = overdue_loan()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    total = loan.written_off
    loan.recover(date(2026, 6, 1), amount=D("1000.00"), actor="ops", reason="agency")
    assert loan.written_off_outstanding == total - D("1000.00")
    assert loan.figures().written_off_outstanding == total - D("1000.00")
    with pytest.raises(CommandRefused, match="is written off and not yet recovered"):
        loan.recover(date(2026, 6, 2), amount=total, actor="ops", reason="agency")


@pytest.mark.parametrize(
    ("amount", "on", "message"),
    [
        ("0", date(2026, 6, 1), "must be positive"),
        ("-5.00", date(2026, 6, 1), "must be positive"),
        ("1.005", date(2026, 6, 1), "more than two decimal places"),
        ("1.00", date(2026, 4, 1), "dated 2026-04-21 or later"),
    ],
)
def test_a_bad_recovery_is_refused_with_nothing_recorded(
    amount: str, on: date, message: str
) -> None:
    loan = overdue_loan()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    count = len(loan.pending_events)
    with pytest.raises(CommandRefused, match=message):
        loan.recover(on, amount=D(amount), actor="ops", reason="agency")
    assert len(loan.pending_events) == count


def test_a_recovery_on_a_loan_not_written_off_is_refused() -> None:
    loan = overdue_loan()
    with pytest.raises(CommandRefused, match="is not written off"):
        loan.recover(date(2026, 4, 21), amount=D("1.00"), actor="ops", reason="agency")


def test_a_written_off_loan_cannot_be_written_off_again_repaid_or_waived() -> None:
    loan = overdue_loan()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    count = len(loan.pending_events)
    with pytest.raises(CommandRefused, match="is written off"):
        loan.write_off(date(2026, 4, 21), actor="ops", reason="again")
    with pytest.raises(CommandRefused, match="is written off"):
        loan.repay(date(2026, 4, 21), D("10.00"))
    with pytest.raises(CommandRefused, match="is written off"):
        loan.waive(date(2026, 4, 21), part="penalty", amount=D("1.00"), actor="a", reason="b")
    assert len(loan.pending_events) == count


def test_a_write_off_needs_a_reason_an_open_day_and_no_credit() -> None:
    loan = overdue_loan()
    with pytest.raises(CommandRefused, match="needs a reason"):
        loan.write_off(date(2026, 4, 21), actor="ops", reason=" ")
    with pytest.raises(CommandRefused, match="already closed"):
        loan.write_off(date(2026, 4, 20), actor="ops", reason="late")
    with pytest.raises(CommandRefused, match="not closed yet"):
        loan.write_off(date(2026, 4, 23), actor="ops", reason="early")


def test_the_journal_of_a_write_off_and_a_recovery_balances_to_the_write_off_expense() -> None:
    loan = overdue_loan()
    was = positions_of(loan)
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    written = positions_of(loan)
    lines = {p.account: p.amount for p in postings(was, written)}
    assert lines["written_off"] == loan.written_off
    assert not any(key.startswith("income_") for key in lines)  # income stays recognised
    loan.recover(date(2026, 6, 1), amount=D("250.00"), actor="ops", reason="agency")
    lines = {p.account: p.amount for p in postings(written, positions_of(loan))}
    assert lines == {"cash": D("250.00"), "recoveries": D("-250.00")}


def test_a_written_off_and_recovered_loan_replays_clean_from_its_facts() -> None:
    loan = overdue_loan()
    loan.write_off(date(2026, 4, 21), actor="ops", reason="uncollectable")
    loan.recover(date(2026, 6, 1), amount=D("250.00"), actor="ops", reason="agency")
    assert replay(list(loan.collect_events())).discrepancies == []
