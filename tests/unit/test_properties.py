"""Property tests of the ``Loan`` aggregate over random loans and random borrowers.

Each example disburses a random loan, then runs every business day of its life (section 3:
morning fix and one deduction, end-of-day accrual) with a random amount collected by each
deduction, sometimes a partial prepayment, and finally pays everything so the loan closes.
After every command the invariants below must hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any
from uuid import uuid4

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain import rules
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, Rounding, readable
from ledger.domain.terms import Method, Replan, Terms

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Event fields that carry money or rates: each must be a Decimal whenever it is set.
AMOUNT_FIELDS = {
    "amount",
    "base",
    "collected",
    "emi",
    "fee",
    "fee_rate",
    "interest",
    "interest_accrued",
    "monthly_rate",
    "normal",
    "overdue",
    "penalty",
    "penalty_multiplier",
    "principal",
    "principal_step",
    "rate",
    "remaining_principal",
    "remaining_principal_before",
    "requested",
    "residual_interest",
    "total",
}


# --------------------------------------------------------------------------- strategies


WHOLE_YUAN = Decimal("1")


@st.composite
def loan_terms(draw: st.DrawFn, multiples: tuple[Decimal, ...] = (FEN, WHOLE_YUAN)) -> Terms:
    principal = Decimal(draw(st.integers(100_00, 1_000_000_00))) / 100
    method = draw(st.sampled_from(list(Method)))
    return Terms(
        product="property",
        principal=principal.quantize(FEN),
        term=draw(st.integers(1, 36)),
        disbursed_on=draw(st.dates(date(2024, 1, 1), date(2026, 12, 31))),
        daily_rate=Decimal(draw(st.integers(100, 1000))) / 1_000_000,
        annual_rate=None,
        day_count=None,
        method=method,
        prepayment_fee_rate=draw(st.sampled_from([Decimal("0"), Decimal("0.03")])),
        penalty_multiplier=Decimal("1.5"),
        grace_days=draw(st.integers(0, 3)),
        installment_multiple=draw(st.sampled_from(multiples)),
        rounding=draw(st.sampled_from(list(Rounding))),
    )


# What each successive deduction collects, as a percentage of what it asks for.
collection_percents = st.lists(
    st.one_of(st.just(100), st.just(0), st.integers(1, 99)), min_size=1, max_size=60
)


@dataclass(frozen=True)
class Prepayment:
    at_percent_of_life: int
    percent_of_principal: int
    replan: Replan


prepayments = st.none() | st.builds(
    Prepayment,
    at_percent_of_life=st.integers(0, 99),
    percent_of_principal=st.integers(1, 90),
    replan=st.sampled_from(list(Replan)),
)


# --------------------------------------------------------------------------- invariants


def assert_invariants(loan: Loan) -> None:
    """Principal is conserved; nothing owed, paid or accrued is ever negative."""
    principal = loan.terms.principal
    assert loan.principal_repaid + loan.principal_outstanding == principal
    assert ZERO <= loan.principal_outstanding <= principal
    assert loan.principal_not_due >= ZERO
    assert loan.interest_accrued >= ZERO
    for paid in (loan.principal_repaid, loan.interest_paid, loan.penalty_paid, loan.fees_paid):
        assert paid >= ZERO
    for inst in loan.installments:
        assert inst.principal >= ZERO
        assert inst.interest >= ZERO
        assert inst.penalty_accrued >= ZERO
        assert inst.interest_after_due >= ZERO
        assert inst.principal_paid >= ZERO
        assert inst.interest_paid >= ZERO
        assert inst.penalty_paid >= ZERO
        assert inst.principal_paid <= inst.principal
    for owed in loan.owed():
        assert owed.penalty >= ZERO
        assert owed.interest >= ZERO
        assert owed.principal >= ZERO
    assert loan.amount_due >= ZERO


def assert_no_float(value: Any, where: str) -> None:
    assert not isinstance(value, float), where
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_float(item, f"{where}.{key}")
            if key in AMOUNT_FIELDS and item is not None:
                assert isinstance(item, Decimal), f"{where}.{key} = {item!r}"
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            assert_no_float(item, f"{where}[{i}]")


def assert_event_amounts_are_decimals(events: Any) -> None:
    for event in events:
        name = type(event).__name__
        fields = {k: v for k, v in vars(event).items() if k != "timestamp"}
        assert_no_float(fields, name)


def assert_accrual_is_never_negative(events: Any) -> None:
    for event in events:
        if isinstance(event, Loan.InterestAccrued):
            assert event.normal >= ZERO
            assert event.penalty >= ZERO
            assert event.base >= ZERO
            assert all(p["amount"] >= ZERO for p in event.penalties)
            assert all(p["base"] > ZERO for p in event.penalties)


def assert_no_event_amount_is_negative(value: Any, where: str) -> None:
    """Every amount an event records is >= 0, except ``residual_interest``: the signed
    sub-fen remainder that rounding the accrued interest left behind."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "residual_interest":
                assert isinstance(item, Decimal), where
                assert abs(item) < FEN, f"{where}.{key} = {item!r}"
            else:
                assert_no_event_amount_is_negative(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            assert_no_event_amount_is_negative(item, f"{where}[{i}]")
    elif isinstance(value, Decimal):
        assert value >= ZERO, f"{where} = {value!r}"


# --------------------------------------------------------------------------- the run


class Borrower:
    """Drives the loan day by day and checks the invariants after every command."""

    def __init__(self, loan: Loan, percents: list[int]) -> None:
        self.loan = loan
        self.percents = percents
        self.deductions = 0
        self.events: list[Any] = list(loan.collect_events())

    def check(self) -> None:
        events = self.loan.collect_events()
        assert_event_amounts_are_decimals(events)
        assert_accrual_is_never_negative(events)
        for event in events:
            fields = {k: v for k, v in vars(event).items() if k != "timestamp"}
            assert_no_event_amount_is_negative(fields, type(event).__name__)
        self.events.extend(events)
        assert_invariants(self.loan)

    def collected(self, due: Decimal, pay_all: bool) -> Decimal:
        if pay_all:
            return due
        percent = self.percents[self.deductions % len(self.percents)]
        self.deductions += 1
        return (due * percent / 100).quantize(FEN, rounding=ROUND_DOWN)

    def day(self, d: date, *, pay_all: bool = False) -> None:
        loan = self.loan
        loan.fix_due_installments(d)
        self.check()
        due = loan.amount_due
        if due > ZERO:
            loan.deduct(d, requested=due, collected=self.collected(due, pay_all))
            self.check()
        if not loan.is_closed:
            loan.close_day(d)
            self.check()

    def prepay(self, d: date, prepayment: Prepayment) -> None:
        loan = self.loan
        interest = readable(loan.interest_accrued).quantize(FEN, rounding=ROUND_UP)
        principal = loan.principal_not_due * prepayment.percent_of_principal / 100
        amount = (loan.amount_due + interest + principal).quantize(FEN, rounding=ROUND_DOWN)
        try:
            loan.prepay(d, amount=amount, replan=prepayment.replan)
        except CommandRefused:
            # too small, too big, or reduce_term on interest_first: nothing is recorded
            assert self.loan.collect_events() == []
        self.check()


def live_the_whole_loan(
    terms: Terms, percents: list[int], prepayment: Prepayment | None, extra_days: int
) -> Borrower:
    loan = Loan.disburse(terms, loan_id=uuid4())
    borrower = Borrower(loan, percents)
    borrower.check()
    last_due = rules.due_date(terms.disbursed_on, terms.term)
    life = (last_due - terms.disbursed_on).days
    prepay_on = (
        terms.disbursed_on + timedelta(days=life * prepayment.at_percent_of_life // 100)
        if prepayment is not None
        else None
    )
    d = terms.disbursed_on
    while d <= last_due + timedelta(days=extra_days) and not loan.is_closed:
        if prepayment is not None and d == prepay_on:
            loan.fix_due_installments(d)
            borrower.check()
            borrower.prepay(d, prepayment)
            if not loan.is_closed:
                loan.close_day(d)
                borrower.check()
        else:
            borrower.day(d)
        d += timedelta(days=1)
    # The borrower finally pays everything that is due, every day, until the loan closes.
    for _ in range(40):
        if loan.is_closed:
            break
        borrower.day(d, pay_all=True)
        d += timedelta(days=1)
    return borrower


# --------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(
    terms=loan_terms(),
    percents=collection_percents,
    prepayment=prepayments,
    extra_days=st.integers(0, 40),
)
def test_principal_repaid_plus_outstanding_is_always_the_principal_disbursed(
    terms: Terms, percents: list[int], prepayment: Prepayment | None, extra_days: int
) -> None:
    borrower = live_the_whole_loan(terms, percents, prepayment, extra_days)
    loan = borrower.loan
    prepaid = [e for e in borrower.events if isinstance(e, Loan.Prepaid)]
    hypothesis.event(f"prepaid: {prepaid[0].replan if prepaid else 'no'}")
    hypothesis.event(f"overdue: {any(isinstance(e, Loan.Overdue) for e in borrower.events)}")
    # ...and a borrower who finally pays everything has a closed, fully repaid loan.
    assert loan.is_closed
    assert loan.principal_repaid == terms.principal
    assert loan.principal_outstanding == ZERO
    assert loan.amount_due == ZERO


@PROPERTY_SETTINGS
@given(terms=loan_terms(), percents=collection_percents)
def test_every_event_amount_is_a_decimal_and_no_accrual_is_negative(
    terms: Terms, percents: list[int]
) -> None:
    borrower = live_the_whole_loan(terms, percents, None, 5)
    kinds = {type(e).__name__ for e in borrower.events}
    assert {"Disbursed", "InstallmentFellDue", "InterestAccrued", "Closed"} <= kinds
    for event in borrower.events:
        for name in AMOUNT_FIELDS & set(vars(event)):
            value = getattr(event, name)
            assert value is None or isinstance(value, Decimal), (type(event).__name__, name)


@PROPERTY_SETTINGS
@given(terms=loan_terms(multiples=(FEN,)))
def test_a_loan_paid_on_schedule_never_becomes_overdue_and_closes_on_its_last_due_date(
    terms: Terms,
) -> None:
    borrower = live_the_whole_loan(terms, [100], None, 0)
    loan = borrower.loan
    assert loan.closed_on == rules.due_date(terms.disbursed_on, terms.term)
    assert not any(isinstance(e, Loan.Overdue) for e in borrower.events)
    assert loan.penalty_paid == ZERO
    assert len(loan.installments) == terms.term
    assert sum((i.principal for i in loan.installments), ZERO) == terms.principal
    if terms.method is Method.EQUAL_INSTALLMENT:
        # every installment but the last is the EMI (principal never goes negative)
        assert all(i.principal + i.interest >= loan.emi for i in loan.installments[:-1])


@PROPERTY_SETTINGS
@given(terms=loan_terms(multiples=(WHOLE_YUAN,)))
def test_a_whole_yuan_loan_paid_on_schedule_closes_by_its_last_due_date(terms: Terms) -> None:
    borrower = live_the_whole_loan(terms, [100], None, 0)
    loan = borrower.loan
    assert loan.emi == loan.emi.to_integral_value()
    assert loan.closed_on is not None
    assert loan.closed_on <= rules.due_date(terms.disbursed_on, terms.term)
    assert not any(isinstance(e, Loan.Overdue) for e in borrower.events)
    assert sum((i.principal for i in loan.installments), ZERO) == terms.principal


@PROPERTY_SETTINGS
@given(terms=loan_terms())
def test_total_paid_equals_principal_plus_interest_plus_penalty_plus_fees(terms: Terms) -> None:
    borrower = live_the_whole_loan(terms, [0, 100, 37], None, 3)
    loan = borrower.loan
    received = sum(
        (e.collected for e in borrower.events if isinstance(e, Loan.InstallmentDeducted)), ZERO
    )
    assert received == (
        loan.principal_repaid + loan.interest_paid + loan.penalty_paid + loan.fees_paid
    )
