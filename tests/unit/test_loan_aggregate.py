"""Given/when/then tests of the ``Loan`` aggregate, in memory (no event store).

Business days are driven as the scheduler drives them (loan-rules section 3): for each day
``d`` the morning fixes the installments due on ``d``, then one deduction asks for everything
due; then the day is closed (accrual, overdue marking).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid4

import pytest

from ledger.domain import rules
from ledger.domain.business_day import run_day
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, Rounding
from ledger.domain.state import ACTIVE, CLOSED, OVERDUE
from ledger.domain.terms import PRESETS, DayCount, Method, Replan, Terms

D = Decimal

# What the borrower's account yields on a day, given what is due: None = everything due.
Collect = Decimal | Callable[[date, Decimal], Decimal] | None
E = TypeVar("E")


# --------------------------------------------------------------------------- helpers


def make_terms(
    *,
    product: str = "borrow_and_return",
    principal: str = "12000.00",
    term: int = 12,
    disbursed_on: date = date(2026, 1, 15),
    method: Method | None = None,
    daily_rate: str | None = "0.0005",
    annual_rate: str | None = None,
    day_count: DayCount | None = None,
    prepayment_fee_rate: str | None = None,
    penalty_multiplier: str = "1.5",
    grace_days: int = 0,
    installment_multiple: str = "0.01",
    rounding: Rounding = Rounding.HALF_UP,
) -> Terms:
    preset = PRESETS[product]
    return Terms(
        product=product,
        principal=D(principal),
        term=term,
        disbursed_on=disbursed_on,
        daily_rate=D(daily_rate) if daily_rate is not None else None,
        annual_rate=D(annual_rate) if annual_rate is not None else None,
        day_count=day_count,
        method=method or preset.method,
        prepayment_fee_rate=(
            D(prepayment_fee_rate)
            if prepayment_fee_rate is not None
            else preset.prepayment_fee_rate
        ),
        penalty_multiplier=D(penalty_multiplier),
        grace_days=grace_days,
        installment_multiple=D(installment_multiple),
        rounding=rounding,
    )


def disburse(terms: Terms) -> Loan:
    loan = Loan.disburse(terms, loan_id=uuid4(), reference="L-TEST")
    return loan


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


class Account:
    """The linked account as the business day's collector sees it (``collect`` of
    :func:`business_day`)."""

    def __init__(self, collect: Collect) -> None:
        self.yields = collect

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        if self.yields is None:
            return amount
        if isinstance(self.yields, Decimal):
            return min(self.yields, amount)
        return self.yields(on, amount)


def business_day(loan: Loan, d: date, collect: Collect = None) -> None:
    """The business day of section 3 as the application runs it (``run_day``: morning fix,
    one deduction, end of day). ``collect`` says what the account yields: everything due
    (None), a fixed amount (capped at what is due), or a function of the day and the amount."""
    run_day(loan, d, Account(collect))


def run(loan: Loan, first: date, last: date, collect: Collect = None) -> None:
    """Business days ``first`` .. ``last`` (inclusive), stopping when the loan closes."""
    for d in days(first, last):
        if loan.is_closed:
            return
        business_day(loan, d, collect)


def run_to_close(loan: Loan, first: date, collect: Collect = None, limit: int = 4000) -> date:
    """Business days from ``first`` until the loan closes; returns the closing day."""
    d = first
    for _ in range(limit):
        business_day(loan, d, collect)
        if loan.is_closed:
            return d
        d += timedelta(days=1)
    raise AssertionError(f"loan still open after {limit} days (on {d})")


def events_of(loan: Loan, kind: type[E]) -> list[E]:
    return [e for e in loan.collect_events() if isinstance(e, kind)]


# --------------------------------------------------------------------------- disbursement


def test_disbursement_records_the_terms_and_the_plan_in_one_event() -> None:
    loan = disburse(make_terms())
    (event,) = loan.collect_events()
    assert isinstance(event, Loan.Disbursed)
    assert event.on == date(2026, 1, 15)
    assert event.monthly_rate == D("0.015")
    assert event.emi == D("1100.16")
    assert event.principal_step == D("1000.00")
    assert event.terms["principal"] == D("12000.00")
    assert loan.principal_outstanding == D("12000.00")
    assert loan.loan_status == ACTIVE
    assert loan.amount_due == ZERO


def test_disbursement_with_whole_yuan_installments_rounds_the_emi_to_a_yuan() -> None:
    loan = disburse(make_terms(installment_multiple="1"))
    assert loan.emi == D("1100.00")


def test_first_whole_yuan_installment_has_principal_emi_minus_interest() -> None:
    loan = disburse(make_terms(installment_multiple="1"))
    run(loan, date(2026, 1, 15), date(2026, 2, 15))
    first = loan.installments[0]
    assert (first.interest, first.principal) == (D("186.00"), D("914.00"))


# --------------------------------------------------------------------------- section 8 examples


@pytest.mark.parametrize(
    ("product", "fee", "payoff"),
    [
        ("borrow_and_return", "0.00", "10015.00"),  # worked example 1
        ("repay_on_schedule", "300.00", "10315.00"),  # worked example 2
    ],
)
def test_worked_examples_1_and_2_pay_off_after_three_days_of_interest(
    product: str, fee: str, payoff: str
) -> None:
    loan = disburse(
        make_terms(product=product, principal="10000.00", term=6, disbursed_on=date(2026, 1, 1))
    )
    run(loan, date(2026, 1, 1), date(2026, 1, 3))

    quote = loan.quote_prepayment(date(2026, 1, 4))

    assert quote.kind == "full"
    assert quote.interest == D("15.00")
    assert quote.interest_accrued == D("15.000000")
    assert quote.fee == D(fee)
    assert quote.principal == D("10000.00")
    assert quote.overdue == ZERO
    assert quote.penalty == ZERO
    assert quote.total == D(payoff)


@pytest.mark.parametrize(
    ("product", "payoff"), [("borrow_and_return", "10015.00"), ("repay_on_schedule", "10315.00")]
)
def test_a_full_prepayment_closes_the_loan_and_records_the_payoff(
    product: str, payoff: str
) -> None:
    loan = disburse(
        make_terms(product=product, principal="10000.00", term=6, disbursed_on=date(2026, 1, 1))
    )
    run(loan, date(2026, 1, 1), date(2026, 1, 3))
    loan.collect_events()

    loan.prepay(date(2026, 1, 4))

    prepaid, closed = loan.collect_events()
    assert isinstance(prepaid, Loan.Prepaid)
    assert prepaid.kind == "full"
    assert prepaid.total == D(payoff)
    assert isinstance(closed, Loan.Closed)
    assert closed.reason == "prepaid"
    assert closed.residual_interest == ZERO
    assert loan.loan_status == CLOSED
    assert loan.principal_outstanding == ZERO
    assert loan.principal_repaid == D("10000.00")
    assert loan.interest_paid == D("15.00")


def test_after_a_payoff_nothing_more_accrues_or_is_deducted() -> None:
    loan = disburse(make_terms(principal="10000.00", term=6, disbursed_on=date(2026, 1, 1)))
    run(loan, date(2026, 1, 1), date(2026, 1, 3))
    loan.prepay(date(2026, 1, 4))
    loan.collect_events()

    with pytest.raises(CommandRefused):
        loan.close_day(date(2026, 1, 4))
    with pytest.raises(CommandRefused):
        loan.deduct(date(2026, 1, 4), requested=ZERO, collected=ZERO)
    with pytest.raises(CommandRefused):
        loan.fix_due_installments(date(2026, 1, 5))
    assert loan.collect_events() == []


def test_worked_example_3_first_installment_is_186_interest_and_914_16_principal() -> None:
    loan = disburse(make_terms())
    assert loan.monthly_rate == D("0.015")
    assert loan.emi == D("1100.16")
    run(loan, date(2026, 1, 15), date(2026, 2, 14))
    loan.collect_events()

    loan.fix_due_installments(date(2026, 2, 15))

    (fell_due,) = loan.collect_events()
    assert isinstance(fell_due, Loan.InstallmentFellDue)
    assert fell_due.k == 1
    assert fell_due.due_date == date(2026, 2, 15)
    assert fell_due.interest_accrued == D("186.000000")  # 31 days x 6.00
    assert fell_due.interest == D("186.00")
    assert fell_due.principal == D("914.16")
    assert fell_due.remaining_principal_before == D("12000.00")
    assert fell_due.is_last is False
    assert loan.amount_due == D("1100.16")


def test_worked_example_3_paid_on_schedule_closes_on_the_last_due_date() -> None:
    loan = disburse(make_terms())
    closed_on = run_to_close(loan, date(2026, 1, 15))
    assert closed_on == date(2027, 1, 15)
    assert len(loan.installments) == 12
    assert all(i.principal + i.interest == D("1100.16") for i in loan.installments[:-1])
    assert sum((i.principal for i in loan.installments), ZERO) == D("12000.00")
    assert loan.principal_repaid == D("12000.00")
    assert loan.loan_status == CLOSED
    closed = events_of(loan, Loan.Closed)
    assert [c.reason for c in closed] == ["repaid"]


def test_worked_example_4_interest_first_pays_only_interest_until_the_last_installment() -> None:
    loan = disburse(make_terms(product="interest_first"))
    run_to_close(loan, date(2026, 1, 15))

    first, *middle, last = loan.installments
    assert (first.interest, first.principal) == (D("186.00"), ZERO)
    for inst in [first, *middle]:
        assert inst.principal == ZERO
        period = (inst.due_date - rules.due_date(date(2026, 1, 15), inst.k - 1)).days
        assert inst.interest == D("6.00") * period  # 12,000.00 x 0.05 % a day
    assert last.k == 12
    assert last.principal == D("12000.00")
    assert last.interest == D("186.00")  # Dec 15 .. Jan 14: 31 days
    assert loan.loan_status == CLOSED


def test_worked_example_4_last_installment_is_due_in_one_deduction() -> None:
    loan = disburse(make_terms(product="interest_first"))
    run(loan, date(2026, 1, 15), date(2027, 1, 14))
    loan.fix_due_installments(date(2027, 1, 15))
    assert loan.amount_due == D("12186.00")


def example_5_loan(grace_days: int = 0) -> Loan:
    return disburse(
        make_terms(
            product="equal_principal",
            principal="1000.00",
            term=2,
            disbursed_on=date(2026, 3, 1),
            grace_days=grace_days,
        )
    )


def test_worked_example_5_unpaid_installment_is_overdue_from_the_day_after_its_due_date() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31), collect=ZERO)
    loan.collect_events()

    business_day(loan, date(2026, 4, 1), collect=ZERO)

    fell_due, failed, accrued, overdue = loan.collect_events()
    assert isinstance(fell_due, Loan.InstallmentFellDue)
    assert (fell_due.principal, fell_due.interest) == (D("500.00"), D("15.50"))
    assert isinstance(failed, Loan.DeductionFailed)
    assert failed.requested == D("515.50")
    assert isinstance(accrued, Loan.InterestAccrued)
    assert accrued.base == D("1000.00")  # on its due date the whole principal bears interest
    assert accrued.normal == D("0.500000")
    assert accrued.penalty == ZERO
    assert isinstance(overdue, Loan.Overdue)
    assert overdue.k == 1
    assert overdue.overdue_from == date(2026, 4, 2)
    assert (overdue.principal, overdue.interest) == (D("500.00"), D("15.50"))
    assert loan.loan_status == OVERDUE


def test_overdue_principal_bears_penalty_instead_of_normal_interest() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 1), collect=ZERO)
    loan.collect_events()

    business_day(loan, date(2026, 4, 2), collect=ZERO)

    accrued = events_of(loan, Loan.InterestAccrued)[0]
    assert accrued.base == D("500.00")  # only the principal not yet due
    assert accrued.normal == D("0.250000")
    assert accrued.penalties == [
        {"k": 1, "base": D("515.50"), "amount": D("0.386625")},
    ]
    assert accrued.penalty == D("0.386625")


def test_worked_example_5_through_april_5_accrues_penalty_1_5465_and_normal_1_5() -> None:
    loan = example_5_loan()

    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)

    (inst,) = loan.installments
    assert inst.penalty_accrued == D("1.546500")
    assert loan.interest_accrued == D("1.500000")
    assert inst.overdue_from == date(2026, 4, 2)
    assert loan.days_past_due() == 4
    assert loan.days_past_due(date(2026, 4, 2)) == 1
    assert loan.loan_status == OVERDUE


def test_the_morning_after_example_5_asks_for_the_installment_and_its_rounded_penalty() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 6))
    assert loan.amount_due == D("517.05")  # 515.50 + round(1.5465)


def test_a_payoff_of_an_overdue_loan_includes_the_installment_its_penalty_and_interest() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 6))
    loan.deduct(date(2026, 4, 6), requested=D("517.05"), collected=ZERO)

    quote = loan.prepay(date(2026, 4, 6))

    assert quote.overdue == D("515.50")
    assert quote.penalty == D("1.55")
    assert quote.interest == D("1.50")
    assert quote.principal == D("500.00")
    assert quote.fee == ZERO
    assert quote.total == D("1018.55")
    assert loan.loan_status == CLOSED
    assert loan.principal_outstanding == ZERO
    assert loan.penalty_paid == D("1.55")


# --------------------------------------------------------------------------- paying what is due


def test_a_repayment_pays_the_penalty_first_then_interest_then_principal() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 6))
    loan.deduct(date(2026, 4, 6), requested=D("517.05"), collected=ZERO)

    allocations = loan.repay(date(2026, 4, 6), D("20.00"))

    assert allocations == [rules.Allocation(1, D("1.55"), D("15.50"), D("2.95"))]
    assert loan.amount_due == D("497.05")
    assert loan.principal_outstanding == D("997.05")
    assert loan.loan_status == OVERDUE


def test_a_partial_deduction_is_allocated_oldest_installment_first() -> None:
    loan = disburse(
        make_terms(
            product="equal_principal", principal="1000.00", term=3, disbursed_on=date(2026, 3, 1)
        )
    )
    run(loan, date(2026, 3, 1), date(2026, 4, 30), collect=ZERO)
    loan.fix_due_installments(date(2026, 5, 1))
    owed_before = loan.owed()
    assert [o.k for o in owed_before] == [1, 2]
    oldest = owed_before[0].total
    loan.collect_events()

    loan.deduct(date(2026, 5, 1), requested=loan.amount_due, collected=oldest + D("1.00"))

    (deducted,) = events_of(loan, Loan.InstallmentDeducted)
    assert [a["k"] for a in deducted.allocations] == [1, 2]
    assert deducted.allocations[1]["principal"] == ZERO
    assert loan.installments[0].settled_on == date(2026, 5, 1)
    assert loan.installments[1].settled_on is None


def test_repaying_everything_due_settles_the_overdue_installment() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 6))
    loan.deduct(date(2026, 4, 6), requested=D("517.05"), collected=ZERO)

    loan.repay(date(2026, 4, 6), D("517.05"))

    assert loan.amount_due == ZERO
    assert loan.loan_status == ACTIVE
    assert loan.days_past_due() == 0
    loan.close_day(date(2026, 4, 6))
    accrued = events_of(loan, Loan.InterestAccrued)[-1]
    assert accrued.penalties == []
    assert accrued.base == D("500.00")


def test_an_installment_within_its_grace_days_is_not_yet_overdue() -> None:
    loan = example_5_loan(grace_days=3)
    run(loan, date(2026, 3, 1), date(2026, 4, 3), collect=ZERO)
    assert loan.loan_status == ACTIVE
    assert events_of(loan, Loan.Overdue) == []
    # during the grace days the installment's principal still bears normal interest
    assert loan.interest_accrued == D("1.500000")  # Apr 1..3 on 1,000.00

    business_day(loan, date(2026, 4, 4), collect=ZERO)

    (overdue,) = events_of(loan, Loan.Overdue)
    assert overdue.overdue_from == date(2026, 4, 5)
    assert loan.loan_status == OVERDUE


def test_an_installment_paid_on_its_due_date_never_becomes_overdue() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 10))
    assert events_of(loan, Loan.Overdue) == []
    assert loan.installments[0].settled_on == date(2026, 4, 1)
    assert loan.loan_status == ACTIVE


def test_paying_the_installment_on_its_due_date_stops_its_interest_that_day() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.collect_events()
    business_day(loan, date(2026, 4, 1))
    accrued = events_of(loan, Loan.InterestAccrued)[0]
    assert accrued.base == D("500.00")


# --------------------------------------------------------------------------- refusals


def test_accruing_the_same_day_twice_is_refused_and_records_nothing() -> None:
    loan = disburse(make_terms())
    loan.close_day(date(2026, 1, 15))
    loan.collect_events()

    with pytest.raises(CommandRefused, match="already closed"):
        loan.close_day(date(2026, 1, 15))

    assert loan.collect_events() == []
    assert loan.interest_accrued == D("6.000000")


def test_closing_a_day_before_the_previous_day_is_closed_is_refused() -> None:
    loan = disburse(make_terms())
    loan.collect_events()
    with pytest.raises(CommandRefused, match="not closed yet"):
        loan.close_day(date(2026, 1, 16))
    assert loan.collect_events() == []


def test_deducting_twice_on_one_date_is_refused_and_records_nothing() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.fix_due_installments(date(2026, 4, 1))
    loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=D("100.00"))
    loan.collect_events()

    with pytest.raises(CommandRefused, match="already"):
        loan.deduct(date(2026, 4, 1), requested=D("415.50"), collected=D("415.50"))

    assert loan.collect_events() == []
    assert loan.amount_due == D("415.50")


def test_a_failed_deduction_also_counts_as_the_day_s_one_deduction() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.fix_due_installments(date(2026, 4, 1))
    loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=ZERO)
    with pytest.raises(CommandRefused):
        loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=D("515.50"))


def test_a_deduction_must_request_exactly_what_is_due() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.fix_due_installments(date(2026, 4, 1))
    loan.collect_events()
    with pytest.raises(CommandRefused):
        loan.deduct(date(2026, 4, 1), requested=D("500.00"), collected=D("500.00"))
    with pytest.raises(CommandRefused):
        loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=D("515.51"))
    with pytest.raises(CommandRefused):
        loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=D("-0.01"))
    assert loan.collect_events() == []


def test_deducting_before_the_morning_has_fixed_the_installment_is_refused() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    with pytest.raises(CommandRefused, match="morning"):
        loan.deduct(date(2026, 4, 1), requested=ZERO, collected=ZERO)


def test_repaying_more_than_is_due_is_refused_and_records_nothing() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.fix_due_installments(date(2026, 4, 1))
    loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=ZERO)
    loan.collect_events()

    with pytest.raises(CommandRefused, match="use a prepayment"):
        loan.repay(date(2026, 4, 1), D("515.51"))

    assert loan.collect_events() == []
    assert loan.amount_due == D("515.50")


def test_repaying_when_nothing_is_due_is_refused() -> None:
    loan = disburse(make_terms())
    run(loan, date(2026, 1, 15), date(2026, 1, 20))
    with pytest.raises(CommandRefused):
        loan.repay(date(2026, 1, 21), D("0.01"))


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_repaying_nothing_or_a_negative_amount_is_refused(amount: str) -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.fix_due_installments(date(2026, 4, 1))
    loan.deduct(date(2026, 4, 1), requested=D("515.50"), collected=ZERO)
    with pytest.raises(CommandRefused):
        loan.repay(date(2026, 4, 1), D(amount))


def test_prepaying_a_closed_loan_is_refused_and_records_nothing() -> None:
    loan = disburse(make_terms(principal="10000.00", term=6, disbursed_on=date(2026, 1, 1)))
    run(loan, date(2026, 1, 1), date(2026, 1, 3))
    loan.prepay(date(2026, 1, 4))
    loan.collect_events()

    with pytest.raises(CommandRefused, match="closed"):
        loan.prepay(date(2026, 1, 4))
    with pytest.raises(CommandRefused, match="closed"):
        loan.prepay(date(2026, 1, 5), amount=D("100.00"))
    with pytest.raises(CommandRefused, match="closed"):
        loan.quote_prepayment(date(2026, 1, 4))

    assert loan.collect_events() == []


def test_prepaying_a_loan_repaid_to_the_end_is_refused() -> None:
    loan = disburse(make_terms(term=2))
    closed_on = run_to_close(loan, date(2026, 1, 15))
    with pytest.raises(CommandRefused):
        loan.prepay(closed_on)
    with pytest.raises(CommandRefused):
        loan.prepay(closed_on + timedelta(days=1))


def test_a_partial_prepayment_that_covers_no_principal_is_refused() -> None:
    loan = disburse(make_terms(principal="10000.00", term=6, disbursed_on=date(2026, 1, 1)))
    run(loan, date(2026, 1, 1), date(2026, 1, 3))
    loan.collect_events()
    with pytest.raises(CommandRefused, match="use repay"):
        loan.prepay(date(2026, 1, 4), amount=D("15.00"))
    assert loan.collect_events() == []


def test_a_partial_prepayment_of_all_the_principal_is_refused_in_favour_of_a_payoff() -> None:
    loan = disburse(make_terms(principal="10000.00", term=6, disbursed_on=date(2026, 1, 1)))
    run(loan, date(2026, 1, 1), date(2026, 1, 3))
    loan.collect_events()
    with pytest.raises(CommandRefused, match=r"payoff 10015\.00"):
        loan.prepay(date(2026, 1, 4), amount=D("10015.00"))
    assert loan.collect_events() == []
    assert not loan.is_closed


def test_reduce_term_is_refused_for_interest_first() -> None:
    loan = disburse(make_terms(product="interest_first"))
    run(loan, date(2026, 1, 15), date(2026, 1, 20))
    loan.collect_events()
    with pytest.raises(CommandRefused, match="interest_first"):
        loan.prepay(date(2026, 1, 21), amount=D("1000.00"), replan=Replan.REDUCE_TERM)
    assert loan.collect_events() == []


# --------------------------------------------------------------------------- paid to the end


@pytest.mark.parametrize(
    "product",
    [
        "borrow_and_return",
        "repay_on_schedule",
        "interest_first",
        "equal_principal",
        "mall_installment",
    ],
)
def test_a_loan_paid_to_the_end_closes_on_its_last_due_date(product: str) -> None:
    loan = disburse(make_terms(product=product, term=6))

    closed_on = run_to_close(loan, date(2026, 1, 15))

    assert closed_on == date(2026, 7, 15)
    assert loan.loan_status == CLOSED
    assert loan.closed_on == date(2026, 7, 15)
    assert loan.principal_repaid == D("12000.00")
    assert loan.principal_outstanding == ZERO
    assert loan.amount_due == ZERO
    assert loan.fees_paid == ZERO
    assert loan.penalty_paid == ZERO
    assert loan.interest_paid == sum((i.interest for i in loan.installments), ZERO)
    (closed,) = events_of(loan, Loan.Closed)
    assert closed.reason == "repaid"
    with pytest.raises(CommandRefused):
        loan.close_day(closed_on)


def test_a_loan_paid_late_closes_on_the_day_the_last_arrears_are_paid() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 5, 3), collect=ZERO)
    assert loan.loan_status == OVERDUE

    closed_on = run_to_close(loan, date(2026, 5, 4))

    assert closed_on == date(2026, 5, 4)
    assert loan.principal_repaid == D("1000.00")
    assert loan.penalty_paid > ZERO


def test_equal_principal_repays_the_same_principal_with_falling_interest() -> None:
    loan = disburse(make_terms(product="equal_principal"))
    run_to_close(loan, date(2026, 1, 15))

    assert [i.principal for i in loan.installments] == [D("1000.00")] * 12
    d0 = date(2026, 1, 15)
    for inst in loan.installments:
        period = (inst.due_date - rules.due_date(d0, inst.k - 1)).days
        base = D("12000.00") - D("1000.00") * (inst.k - 1)
        assert inst.interest == (base * D("0.0005") * period).quantize(D("0.01"))
    assert loan.installments[1].interest == D("154.00")  # 11,000.00 x 28 days


def test_equal_principal_with_an_uneven_split_puts_the_rest_into_the_last_installment() -> None:
    loan = disburse(make_terms(product="equal_principal", principal="1000.00", term=3))
    run_to_close(loan, date(2026, 1, 15))
    assert [i.principal for i in loan.installments] == [D("333.33"), D("333.33"), D("333.34")]


def test_flat_charges_interest_on_the_original_principal_for_every_period() -> None:
    loan = disburse(make_terms(product="mall_installment"))
    run_to_close(loan, date(2026, 1, 15))

    assert [i.principal for i in loan.installments] == [D("1000.00")] * 12
    d0 = date(2026, 1, 15)
    for inst in loan.installments:
        period = (inst.due_date - rules.due_date(d0, inst.k - 1)).days
        assert inst.interest == D("6.00") * period
    assert loan.interest_paid == D("2190.00")  # 365 days x 6.00


def test_flat_accrual_base_stays_the_original_principal_after_principal_is_repaid() -> None:
    loan = disburse(make_terms(product="mall_installment"))
    run(loan, date(2026, 1, 15), date(2026, 5, 20))
    accrued = events_of(loan, Loan.InterestAccrued)
    assert {a.base for a in accrued} == {D("12000.00")}
    assert loan.principal_outstanding == D("8000.00")


# --------------------------------------------------------------------------- day counts


def test_30_360_accrues_thirty_days_for_a_month_with_31_days() -> None:
    loan = disburse(
        make_terms(daily_rate=None, annual_rate="0.036", day_count=DayCount.THIRTY_360, term=1)
    )
    run(loan, date(2026, 1, 15), date(2026, 2, 14))
    accrued = events_of(loan, Loan.InterestAccrued)
    assert [a.days for a in accrued if a.on in (date(2026, 1, 30), date(2026, 1, 31))] == [0, 1]
    loan.fix_due_installments(date(2026, 2, 15))
    assert loan.installments[0].interest == D("36.00")  # 12,000.00 x 0.036 / 360 x 30


@pytest.mark.parametrize(("year", "interest"), [(2024, "31.00"), (2026, "31.08")])
def test_act_act_accrues_by_the_days_of_the_year(year: int, interest: str) -> None:
    loan = disburse(
        make_terms(
            principal="10000.00",
            daily_rate=None,
            annual_rate="0.0366",
            day_count=DayCount.ACT_ACT,
            term=1,
            disbursed_on=date(year, 1, 15),
        )
    )
    run(loan, date(year, 1, 15), date(year, 2, 14))
    loan.fix_due_installments(date(year, 2, 15))
    assert loan.installments[0].interest == D(interest)


def test_accrued_interest_is_rounded_once_per_period_not_day_by_day() -> None:
    # 333.33 x 0.0005 = 0.166665 a day: rounded daily that would be 0.17 x 31 = 5.27
    loan = disburse(make_terms(product="interest_first", principal="333.33", term=2))
    run(loan, date(2026, 1, 15), date(2026, 2, 14))
    loan.fix_due_installments(date(2026, 2, 15))
    assert loan.installments[0].interest == D("5.17")  # round(5.166615)


@pytest.mark.parametrize(
    ("rounding", "interest"), [(Rounding.HALF_UP, "0.05"), (Rounding.HALF_EVEN, "0.04")]
)
def test_the_period_interest_is_rounded_with_the_product_rounding_mode(
    rounding: Rounding, interest: str
) -> None:
    # 10.00 x 0.00015 x 30 days of April = 0.045 exactly
    loan = disburse(
        make_terms(
            product="interest_first",
            principal="10.00",
            term=2,
            daily_rate="0.00015",
            disbursed_on=date(2026, 4, 1),
            rounding=rounding,
        )
    )
    run(loan, date(2026, 4, 1), date(2026, 4, 30))
    loan.fix_due_installments(date(2026, 5, 1))
    assert loan.installments[0].interest == D(interest)


# --------------------------------------------------------------------------- prepayments


def test_a_partial_prepayment_pays_interest_then_fee_then_principal() -> None:
    loan = disburse(
        make_terms(
            product="repay_on_schedule", principal="10000.00", term=6, disbursed_on=date(2026, 1, 1)
        )
    )
    run(loan, date(2026, 1, 1), date(2026, 1, 3))

    quote = loan.prepay(date(2026, 1, 4), amount=D("1045.00"))

    assert quote.kind == "partial"
    assert quote.interest == D("15.00")
    assert quote.principal == D("1000.00")
    assert quote.fee == D("30.00")
    assert quote.total == D("1045.00")
    assert loan.principal_outstanding == D("9000.00")
    assert loan.fees_paid == D("30.00")
    assert loan.interest_accrued == ZERO
    loan.close_day(date(2026, 1, 4))
    assert loan.interest_accrued == D("4.500000")  # interest keeps accruing on 9,000.00


def test_a_partial_prepayment_with_reduce_installment_lowers_the_emi() -> None:
    loan = disburse(make_terms())
    run(loan, date(2026, 1, 15), date(2026, 3, 19))
    assert len(loan.installments) == 2

    quote = loan.prepay(date(2026, 3, 20), amount=D("5000.00"), replan=Replan.REDUCE_INSTALLMENT)

    assert quote.replan == "reduce_installment"
    assert quote.interest == D("25.35")
    assert quote.principal == D("4974.65")
    assert quote.remaining_principal == D("5166.23")
    expected_emi = rules.emi(D("5166.23"), D("0.015"), 10)
    assert quote.emi == expected_emi == loan.emi
    assert loan.emi < D("1100.16")
    assert loan.last_k == 12

    run_to_close(loan, date(2026, 3, 20))
    assert len(loan.installments) == 12
    assert all(i.principal + i.interest == expected_emi for i in loan.installments[2:-1])
    assert loan.principal_repaid == D("12000.00")


def test_a_partial_prepayment_with_reduce_term_lowers_the_number_of_installments() -> None:
    loan = disburse(make_terms())
    run(loan, date(2026, 1, 15), date(2026, 3, 19))

    quote = loan.prepay(date(2026, 3, 20), amount=D("5000.00"), replan=Replan.REDUCE_TERM)

    assert quote.replan == "reduce_term"
    assert quote.emi is None
    assert loan.emi == D("1100.16")
    assert loan.last_k == 7  # 2 paid + 5 more periods for 5,166.23
    assert loan.last_k < 12

    closed_on = run_to_close(loan, date(2026, 3, 20))
    assert closed_on == date(2026, 8, 15)
    assert len(loan.installments) == 7
    assert all(i.principal + i.interest == D("1100.16") for i in loan.installments[:-1])
    assert loan.installments[-1].principal + loan.installments[-1].interest <= D("1100.16")
    assert loan.principal_repaid == D("12000.00")


def test_reduce_installment_on_equal_principal_lowers_the_principal_step() -> None:
    loan = disburse(make_terms(product="equal_principal"))
    run(loan, date(2026, 1, 15), date(2026, 3, 19))
    loan.prepay(date(2026, 3, 20), amount=D("5000.00"))
    remaining = loan.principal_outstanding
    assert loan.principal_step == rules.principal_per_installment(remaining, 10)
    assert loan.principal_step < D("1000.00")


def test_reduce_term_on_equal_principal_keeps_the_step_and_shortens_the_plan() -> None:
    loan = disburse(make_terms(product="equal_principal"))
    run(loan, date(2026, 1, 15), date(2026, 3, 19))
    loan.prepay(date(2026, 3, 20), amount=D("5025.00"), replan=Replan.REDUCE_TERM)
    assert loan.principal_outstanding == D("5000.00")
    assert loan.principal_step == D("1000.00")
    assert loan.last_k == 7
    run_to_close(loan, date(2026, 3, 20))
    assert len(loan.installments) == 7


def test_a_partial_prepayment_first_pays_the_overdue_installment() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 6))
    loan.deduct(date(2026, 4, 6), requested=D("517.05"), collected=ZERO)

    quote = loan.prepay(date(2026, 4, 6), amount=D("618.55"))

    assert quote.overdue == D("515.50")
    assert quote.penalty == D("1.55")
    assert quote.interest == D("1.50")
    assert quote.principal == D("100.00")
    assert loan.loan_status == ACTIVE
    assert loan.amount_due == ZERO
    assert loan.principal_outstanding == D("400.00")


# --------------------------------------------------------------------------- events


def test_every_amount_in_every_event_is_a_decimal() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 4, 5), collect=ZERO)
    run_to_close(loan, date(2026, 4, 6))

    for event in loan.collect_events():
        for name, value in vars(event).items():
            assert not isinstance(value, float), (type(event).__name__, name)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        assert not any(isinstance(v, float) for v in item.values())


# --------------------------------------------------------------------------- found by review, fixed


def test_closing_the_first_due_date_before_its_morning_has_run_is_refused() -> None:
    loan = example_5_loan()
    run(loan, date(2026, 3, 1), date(2026, 3, 31))
    loan.collect_events()

    with pytest.raises(CommandRefused, match="morning"):
        loan.close_day(date(2026, 4, 1))


def test_penalty_base_of_the_last_installment_is_its_overdue_principal_and_interest() -> None:
    loan = disburse(
        make_terms(
            product="equal_principal", principal="1000.00", term=1, disbursed_on=date(2026, 3, 1)
        )
    )
    run(loan, date(2026, 3, 1), date(2026, 4, 1), collect=ZERO)
    loan.fix_due_installments(date(2026, 4, 2))
    # 15.50 interest of the period + round(0.50) interest on the due date itself
    assert loan.amount_due == D("1016.00")
    loan.deduct(date(2026, 4, 2), requested=D("1016.00"), collected=D("16.00"))
    (owed,) = loan.owed()
    assert (owed.interest, owed.principal) == (ZERO, D("1000.00"))
    loan.collect_events()

    loan.close_day(date(2026, 4, 2))

    (accrued,) = events_of(loan, Loan.InterestAccrued)
    assert accrued.penalties == [{"k": 1, "base": D("1000.00"), "amount": D("0.750000")}]


def test_the_overdue_event_of_the_last_installment_never_records_negative_interest() -> None:
    loan = disburse(
        make_terms(
            product="equal_principal",
            principal="1000.00",
            term=1,
            disbursed_on=date(2026, 3, 1),
            grace_days=2,
        )
    )
    run(loan, date(2026, 3, 1), date(2026, 4, 1), collect=ZERO)
    business_day(loan, date(2026, 4, 2), collect=D("16.00"))
    business_day(loan, date(2026, 4, 3), collect=ZERO)

    (overdue,) = events_of(loan, Loan.Overdue)
    assert overdue.interest >= ZERO


def test_a_loan_whose_principal_is_repaid_before_its_last_installment_still_closes() -> None:
    loan = disburse(
        make_terms(
            principal="60.00",
            term=36,
            daily_rate="0.0001",
            installment_multiple="1",
            disbursed_on=date(2026, 3, 1),
        )
    )
    assert loan.emi == D("2.00")  # 1.76 rounded to a whole yuan

    run(loan, date(2026, 3, 1), date(2029, 3, 1))

    assert loan.principal_outstanding == ZERO
    assert loan.amount_due == ZERO
    assert loan.loan_status == CLOSED
