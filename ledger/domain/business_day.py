"""The business day of loan-rules section 3, for one loan: the morning (installments due
today are fixed, the credit held for the borrower pays what is due (section 12), then one
deduction of everything still due, collected through the payment-gateway port), the day
(repayments and prepayments, run by their commands), the end of day (accrual, then overdue
marking: ``Loan.close_day``). The application's close-of-business, its inline catch-up and
the replay of recorded facts (:mod:`ledger.domain.replay`) all run days through
these functions.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from ledger.domain.loan import Loan
from ledger.domain.money import ZERO


class Collector(Protocol):
    """The payment-gateway port as the business day uses it: what was collected now, or
    ``None`` from an asynchronous gateway (a request; the result comes later, section 17)."""

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal | None: ...


def before_deduction(loan: Loan, day: date) -> None:
    """Section 3, morning, before the deduction: fix what falls due (section 5), then use
    the credit held for the borrower (loan-rules §12). Each runs once a day: what fell due is
    fixed, and credit that arose on ``day`` itself waits for the next morning."""
    loan.fix_due_installments(day)
    if not loan.is_closed:
        loan.apply_credit(day)


def run_morning(loan: Loan, day: date, gateway: Collector) -> None:
    """Section 3, morning: fix what falls due, use the credit (section 12), then one
    deduction of everything still due: collected at once, or requested of an asynchronous
    gateway, only while no earlier request awaits its result (section 17)."""
    before_deduction(loan, day)
    if loan.last_deduction_on != day and not loan.is_closed:
        due = loan.amount_due - loan.deductions_in_flight
        if due > ZERO and loan.deductions_in_flight == ZERO:
            collected = gateway.collect(loan.id, day, due)
            if collected is None:
                loan.request_deduction(day, due)
            else:
                loan.deduct(day, requested=due, collected=collected)


def run_end_of_day(loan: Loan, day: date, non_accrual_after: int | None = None) -> None:
    """Section 3, end of day: accrual, then overdue marking (after the morning's fixing of
    what falls due and use of credit, if that has not run: see :func:`before_deduction`),
    then the review of non-accrual (section 15; ``non_accrual_after``: the setting, ``None``
    when off). Nothing for a closed loan."""
    if loan.is_closed:
        return
    before_deduction(loan, day)
    if not loan.is_closed:
        loan.close_day(day)
        loan.review_non_accrual(day, after_days=non_accrual_after)


def run_day(
    loan: Loan, day: date, gateway: Collector, non_accrual_after: int | None = None
) -> None:
    """A whole business day: the morning, then (if the loan is still open) its end."""
    run_morning(loan, day, gateway)
    run_end_of_day(loan, day, non_accrual_after)


class OneCollection:
    """A collector that holds ``money`` already received (a recorded deduction, replayed):
    the deduction takes what is due of it, at most once; ``taken`` says how much."""

    def __init__(self, money: Decimal) -> None:
        self.money = money
        self.taken = ZERO

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        self.taken = min(self.money - self.taken, amount)
        return self.taken


def run_through(
    loan: Loan, day: date, gateway: Collector, non_accrual_after: int | None = None
) -> None:
    """Every business day of the loan not yet run, up to and including ``day``."""
    while not loan.is_closed and loan.next_open_day <= day:
        run_day(loan, loan.next_open_day, gateway, non_accrual_after)


def advance_to(
    loan: Loan, on: date, gateway: Collector, non_accrual_after: int | None = None
) -> None:
    """Inline catch-up before a command dated ``on``: close the loan's missing days before
    ``on``, run the morning of ``on``. A date already closed is refused by the loan."""
    if loan.is_closed:
        return
    if on < loan.next_open_day:
        loan.fix_due_installments(on)  # raises the loan's "already closed" refusal
    while not loan.is_closed and loan.next_open_day < on:
        run_day(loan, loan.next_open_day, gateway, non_accrual_after)
    if not loan.is_closed and loan.next_open_day == on:
        run_morning(loan, on, gateway)
