"""Restructuring (loan-rules §16), in memory: the ``Loan`` aggregate's command, the plan and
the accrual after it, the replay of its facts, and every refusal. The example, worked by hand:
12,000.00 over 12 months, equal principal, 0.05 % a day (monthly rate 0.015), disbursed on
2026-01-15, every deduction paid in full. After installments 1 and 2 (1,000.00 of principal
each) 10,000.00 is not yet due; on 2026-03-20 the loan is restructured to 22 installments at
0.04 % a day: 20 installments left, principal step 10,000.00 / 20 = 500.00, monthly rate 0.012,
installment 3 planned as 500.00 + 10,000.00 x 0.012 = 120.00 interest. It falls due on
2026-04-15 with the interest that really accrued: 10,000.00 x 0.0005 x 5 days (03-15 to 03-19)
= 25.00, plus 10,000.00 x 0.0004 x 26 days (03-20 to 04-14) = 104.00: 129.00."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.domain.business_day import advance_to
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.replay import replay
from ledger.services.products import terms_from_input

D = Decimal
ON = date(2026, 3, 20)


class PaysAll:
    """A linked account that always pays what is asked."""

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        return amount


def paying_loan(**overrides: object) -> Loan:
    fields: dict[str, object] = {
        "product": "equal_principal",
        "principal": "12000.00",
        "term": 12,
        "disbursed_on": date(2026, 1, 15),
        "daily_rate": "0.0005",
        **overrides,
    }
    loan = Loan.disburse(terms_from_input(**fields), loan_id=uuid4(), reference="RS-1")
    advance_to(loan, ON, PaysAll())
    return loan


def test_a_new_term_and_rate_re_plan_the_principal_not_yet_due_as_worked_by_hand() -> None:
    loan = paying_loan()
    loan.restructure(ON, term=22, rate=D("0.0004"), actor="ops", reason="hardship")
    e = loan.pending_events[-1]
    assert isinstance(e, Loan.Restructured)
    assert (e.kind, e.fixed, e.principal_not_due) == ("new_term_and_rate", 2, D("10000.00"))
    assert (e.rate_name, e.rate_before, e.rate) == ("daily_rate", D("0.0005"), D("0.0004"))
    assert (e.monthly_rate_before, e.monthly_rate) == (D("0.0150"), D("0.0120"))
    assert (e.last_k_before, e.last_k) == (12, 22)
    assert (e.principal_step_before, e.principal_step) == (D("1000.00"), D("500.00"))
    assert loan.planned_parts(3, count=1) == [(3, date(2026, 4, 15), D("500.00"), D("120.00"))]
    assert loan.terms.daily_rate == D("0.0004")
    advance_to(loan, date(2026, 4, 15), PaysAll())
    third = loan.installments[2]
    assert (third.principal, third.interest) == (D("500.00"), D("129.00"))


def test_a_restructured_loan_replays_clean_to_its_end() -> None:
    loan = paying_loan()
    loan.restructure(ON, term=14, rate=None, actor="ops", reason="longer")
    advance_to(loan, date(2027, 3, 16), PaysAll())
    assert loan.is_closed and len(loan.installments) == 14
    assert replay(loan.collect_events()).discrepancies == []


def test_a_new_rate_alone_keeps_the_term() -> None:
    loan = paying_loan()
    loan.restructure(ON, term=None, rate=D("0.0003"), actor="ops", reason="cheaper")
    e: Any = loan.pending_events[-1]
    assert (e.kind, e.last_k, e.principal_step) == ("new_rate", 12, D("1000.00"))


@pytest.mark.parametrize(
    ("term", "rate", "reason", "refusal"),
    [
        (2, None, "r", "installments 1 to 2 are already fixed; the new term must be at least 3"),
        (12, None, "r", "term 12 is already the term in force"),
        (None, D("0.0005"), "r", "rate 0.0005 is already the rate in force"),
        (None, D("-0.0001"), "r", "rate must be positive"),
        (None, None, "r", "a restructuring needs a new term, a new rate or a holiday"),
        (20, None, " ", "a restructuring needs a reason"),
    ],
)
def test_a_bad_restructuring_is_refused_and_records_nothing(
    term: int | None, rate: Decimal | None, reason: str, refusal: str
) -> None:
    loan = paying_loan()
    before = len(loan.pending_events)
    with pytest.raises(CommandRefused, match=refusal):
        loan.restructure(ON, term=term, rate=rate, actor="ops", reason=reason)
    assert len(loan.pending_events) == before


def test_a_closed_day_a_closed_loan_and_a_written_off_loan_are_not_restructured() -> None:
    loan = paying_loan()
    with pytest.raises(CommandRefused, match="already closed"):
        loan.restructure(date(2026, 3, 19), term=20, rate=None, actor="o", reason="r")
    loan.write_off(ON, actor="o", reason="gone")
    with pytest.raises(CommandRefused, match="written off"):
        loan.restructure(ON, term=20, rate=None, actor="o", reason="r")
    paid = paying_loan()
    paid.prepay(ON)
    with pytest.raises(CommandRefused, match="is closed"):
        paid.restructure(ON, term=20, rate=None, actor="o", reason="r")


def test_a_bank_installment_loan_takes_no_new_rate() -> None:
    loan = paying_loan(product="bank_installment", daily_rate=None, fee_rate_per_period="0.006")
    with pytest.raises(CommandRefused, match="bears no interest"):
        loan.restructure(ON, term=None, rate=D("0.0004"), actor="o", reason="r")
