"""Exact accruals (loan-rules section 4) in the aggregate, and the 28-digit arithmetic that
loans opened before them keep for life (``Arithmetic.DECIMAL28``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID, uuid4

import pytest

from ledger.domain.loan import Loan
from ledger.domain.money import Rounding
from ledger.domain.replay import replay
from ledger.domain.terms import PRESETS, Arithmetic, DayCount, Terms

D = Decimal

TIE = Terms(  # the first example: 9 days of penalty on 20.00 = exactly 0.075
    product="borrow_and_return",
    principal=D("567.08"),
    term=36,
    disbursed_on=date(2024, 6, 26),
    daily_rate=None,
    annual_rate=D("0.15"),
    day_count=DayCount.ACT_360,
    method=PRESETS["borrow_and_return"].method,
    prepayment_fee_rate=PRESETS["borrow_and_return"].prepayment_fee_rate,
    penalty_multiplier=D("1"),
    grace_days=0,
    installment_multiple=D("1"),
    rounding=Rounding.HALF_UP,
)


def lived(terms: Terms, through: date, loan_id: UUID | None = None) -> Loan:
    """The loan run day by day to ``through`` with an empty linked account."""
    loan = Loan.disburse(terms, loan_id=loan_id or uuid4(), reference="TIE")
    d = terms.disbursed_on
    while d <= through:
        loan.fix_due_installments(d)
        if loan.amount_due:
            loan.deduct(d, requested=loan.amount_due, collected=D(0))
        loan.close_day(d)
        d += timedelta(days=1)
    return loan


def test_an_exact_loan_adds_each_day_s_penalty_as_a_fraction_and_rounds_the_tie_up() -> None:
    loan = lived(TIE, date(2024, 8, 4))
    [first] = loan.overdue_installments
    assert first.penalty_accrued == Fraction(3, 40)  # 9 x 20.00 x 0.15 / 360, exactly
    assert loan.figures().penalty_accrued == D("0.08")
    accrued = [e for e in loan.collect_events() if isinstance(e, Loan.InterestAccrued)]
    assert (accrued[-1].rate, accrued[-1].divisor) == (D("0.15"), 360)


def test_a_loan_opened_before_exact_accruals_keeps_its_28_digit_arithmetic() -> None:
    """Its recorded history must still verify and no figure already shown may change, so
    it accrues as it always did: the day's rate cut to 28 digits, and 0.0749... -> 0.07."""
    loan = lived(replace(TIE, arithmetic=Arithmetic.DECIMAL28), date(2024, 8, 4))
    [first] = loan.overdue_installments
    assert isinstance(first.penalty_accrued, Decimal)
    assert loan.figures().penalty_accrued == D("0.07")
    events = list(loan.collect_events())
    accrued = [e for e in events if isinstance(e, Loan.InterestAccrued)]
    assert (accrued[-1].rate, accrued[-1].divisor) == (D("0.15") / 360, 1)
    assert replay(events).discrepancies == []


@pytest.mark.parametrize("arithmetic", list(Arithmetic))
def test_terms_recorded_without_an_arithmetic_read_as_decimal28(arithmetic: Arithmetic) -> None:
    fields = replace(TIE, arithmetic=arithmetic).as_event_fields()
    assert Terms.from_event_fields(fields).arithmetic is arithmetic
    del fields["arithmetic"]
    assert Terms.from_event_fields(fields).arithmetic is Arithmetic.DECIMAL28
