"""The bound of :class:`ledger.services.resident.ResidentLoans`, in memory."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from ledger.domain.loan import Loan
from ledger.services.products import terms_from_input
from ledger.services.resident import ResidentLoans


def saved_loan() -> Loan:
    terms = terms_from_input(
        product="borrow_and_return", principal="1000.00", term=3, disbursed_on=date(2026, 1, 1),
        daily_rate="0.0005",
    )  # fmt: skip
    loan = Loan.disburse(terms, loan_id=uuid4())
    loan.collect_events()  # as a save leaves it
    return loan


def test_loans_kept_before_stay_and_new_ones_come_in_only_while_there_is_room() -> None:
    kept = ResidentLoans(capacity=2)
    a, b, c = saved_loan(), saved_loan(), saved_loan()
    kept.keep([a, b])
    assert kept.take([a.id, b.id]) == {a.id: a, b.id: b}
    assert len(kept) == 0  # taken out while a batch uses them
    kept.keep([c])  # a new one, while a and b are out: there is room
    kept.keep([a, b], again=frozenset({a.id, b.id}))  # kept before: always back
    assert len(kept) == 3  # over the bound by the loans of one batch at most
    kept.keep([saved_loan()])  # no room for a new one
    assert kept.take([a.id, b.id, c.id]).keys() == {a.id, b.id, c.id}


def test_a_bound_of_zero_keeps_nothing() -> None:
    kept = ResidentLoans(capacity=0)
    kept.keep([saved_loan()])
    assert len(kept) == 0


def test_a_loan_with_events_not_saved_is_never_kept() -> None:
    terms = terms_from_input(
        product="borrow_and_return", principal="1000.00", term=3, disbursed_on=date(2026, 1, 1),
        daily_rate="0.0005",
    )  # fmt: skip
    with pytest.raises(ValueError, match="events not saved"):
        ResidentLoans(capacity=1).keep([Loan.disburse(terms, loan_id=uuid4())])
