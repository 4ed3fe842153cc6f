"""Exact accruals (loan-rules section 4) in the aggregate, and the 28-digit arithmetic that
loans opened before them keep for life (``Arithmetic.DECIMAL28``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain import rules
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


# --------------------------------------------------------------------------- independent check


def year_days(day: date, day_count: DayCount) -> tuple[int, int]:
    """(divisor, weight) of ``day``, written apart from ``rules.day_rate``."""
    if day_count is DayCount.ACT_365:
        return 365, 1
    if day_count is DayCount.ACT_ACT:
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        return (366 if leap else 365), 1
    if day_count is DayCount.ACT_360:
        return 360, 1
    nxt = day + timedelta(days=1)
    d1, d2 = min(day.day, 30), nxt.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360, 360 * (nxt.year - day.year) + 30 * (nxt.month - day.month) + (d2 - d1)


def half_up(value: Fraction) -> Decimal:
    cents = value * 100
    whole = int(cents)
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole) / 100


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    principal=st.integers(min_value=100_00, max_value=50_000_00),
    rate=st.integers(min_value=100, max_value=3600),  # annual rate in basis points / 100
    day_count=st.sampled_from(list(DayCount)),
    disbursed_on=st.dates(min_value=date(2023, 1, 1), max_value=date(2029, 12, 28)),
    late_days=st.integers(min_value=1, max_value=40),
    multiplier=st.sampled_from(["1", "1.5", "2"]),
)
def test_interest_and_penalty_of_the_first_installment_agree_with_an_exact_calculator(
    principal: int,
    rate: int,
    day_count: DayCount,
    disbursed_on: date,
    late_days: int,
    multiplier: str,
) -> None:
    """An interest-first loan, account empty: installment 1's interest is
    round(sum of P x rate x weight / divisor) over its period, and its penalty after
    ``late_days`` overdue days is round(sum of its interest x rate x weight / divisor x
    multiplier), each summed exactly by a calculator written apart from the rules."""
    annual = Decimal(rate) / 100_000
    terms = replace(
        TIE,
        product="interest_first",
        method=PRESETS["interest_first"].method,
        principal=Decimal(principal) / 100,
        term=3,
        disbursed_on=disbursed_on,
        annual_rate=annual,
        day_count=day_count,
        penalty_multiplier=D(multiplier),
        installment_multiple=D("0.01"),
        prepayment_fee_rate=D(0),
    )
    due = rules.due_date(disbursed_on, 1)
    late_days = min(late_days, (rules.due_date(disbursed_on, 2) - due).days)  # #2 not overdue
    loan = lived(terms, due + timedelta(days=late_days))
    first = loan.installments[0]
    period = [disbursed_on + timedelta(days=i) for i in range((due - disbursed_on).days)]
    exact_interest = sum(
        (
            Fraction(terms.principal) * Fraction(annual) * w / y
            for y, w in (year_days(d, day_count) for d in period)
        ),
        Fraction(0),
    )
    assert first.interest == half_up(exact_interest)
    late = [due + timedelta(days=i) for i in range(1, late_days + 1)]
    exact_penalty = sum(
        (
            Fraction(first.interest) * Fraction(annual) * w / y * Fraction(D(multiplier))
            for y, w in (year_days(d, day_count) for d in late)
        ),
        Fraction(0),
    )
    assert loan.figures().penalty_accrued == half_up(exact_penalty)
