"""A payment holiday (loan-rules §16), in memory: the ``Loan`` aggregate's command, the plan,
the installments it moves, the interest of the first installment after it, the replay of its
facts, and every refusal (with no event recorded).

The example, worked by hand: 12,000.00 over 12 months, equal principal, 0.05 % a day (monthly
rate 0.0005 x 30 = 0.015), disbursed 2026-01-15, every deduction paid in full. Installments 1
(2026-02-15) and 2 (2026-03-15) repay 1,000.00 of principal each, so ``P' = 10,000.00``. On
2026-03-20 a holiday of 2 is granted: installments 3 (2026-04-15) and 4 (2026-05-15) are moved,
the last installment goes from 12 to 14 (2027-03-15), ``P'`` is re-planned over ``n = 14 - 2 -
2 = 10`` installments: principal step ``10,000.00 / 10 = 1,000.00``. Nothing falls due on
2026-04-15 and 2026-05-15. Installment 5 falls due on 2026-06-15 with all the interest accrued
since installment 2, 2026-03-15 to 2026-06-14, 17 + 30 + 31 + 14 = 92 days on 10,000.00:
``92 x 10,000.00 x 0.0005 = 460.00`` (planned at the restructuring as ``round(10,000.00 x 0.015
x 3) = 450.00``), and the principal step 1,000.00. Installment 6 (2026-07-15): 9,000.00 x
0.0005 x 30 = 135.00 and 1,000.00. No interest on interest: 460.00 is 10,000.00 x 0.0005 a day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from ledger.domain.business_day import advance_to
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.replay import replay
from ledger.domain.terms import Replan
from ledger.services.products import terms_from_input
from projections.facts import Fact
from projections.loan_fold import LoanFold
from tests.unit.test_restructure import ON, PaysAll, paying_loan

D = Decimal


def holiday_of(loan: Loan, k: int, rate: Decimal | None = None) -> Any:
    loan.restructure(ON, term=None, rate=rate, holiday=k, actor="ops", reason="hardship")
    return loan.pending_events[-1]


def test_a_holiday_of_two_moves_installments_3_and_4_and_the_next_pays_their_interest() -> None:
    loan = paying_loan()
    e = holiday_of(loan, 2)
    assert isinstance(e, Loan.Restructured)
    assert (e.kind, e.holiday, e.fixed, e.principal_not_due) == (
        "payment_holiday",
        2,
        2,
        D("10000.00"),
    )
    assert (e.last_k_before, e.last_k, e.principal_step) == (12, 14, D("1000.00"))
    assert e.monthly_rate == e.monthly_rate_before == D("0.0150")
    assert loan.planned_parts(3, count=4) == [
        (3, date(2026, 4, 15), D("0"), D("0")),
        (4, date(2026, 5, 15), D("0"), D("0")),
        (5, date(2026, 6, 15), D("1000.00"), D("450.00")),
        (6, date(2026, 7, 15), D("1000.00"), D("135.00")),
    ]
    advance_to(loan, date(2026, 7, 16), PaysAll())
    fixed = [(i.k, i.due_date, i.principal, i.interest, i.holiday) for i in loan.installments[2:]]
    assert fixed == [
        (3, date(2026, 4, 15), D("0"), D("0"), True),
        (4, date(2026, 5, 15), D("0"), D("0"), True),
        (5, date(2026, 6, 15), D("1000.00"), D("460.00"), False),
        (6, date(2026, 7, 15), D("1000.00"), D("135.00"), False),
    ]
    assert [i.settled_on for i in loan.installments[2:4]] == [date(2026, 4, 15), date(2026, 5, 15)]
    assert loan.terms.due_date(loan.last_k) == date(2027, 3, 15)


def test_an_equal_installment_loan_pays_its_planned_principal_and_all_the_interest_after() -> None:
    """borrow_and_return (EMI 1,100.16): installments 1 and 2 repay 914.16 and 944.96, so
    ``P' = 10,140.88``; ``EMI = emi(10,140.88, 0.015, 10) = 1,099.62``. Installment 5 (first
    after the holiday): ``planned_interest = round(10,140.88 x 0.015) = round(152.1132) =
    152.11``, principal ``1,099.62 - 152.11 = 947.51``; interest ``round(92 x 10,140.88 x
    0.0005) = round(466.48048) = 466.48``; so 1,414.00 is due, the EMI plus the holiday's
    interest. Installment 6: interest ``round(30 x 9,193.37 x 0.0005) = round(137.90055) =
    137.90``, principal ``1,099.62 - 137.90 = 961.72`` (section 5 as ever)."""
    loan = paying_loan(product="borrow_and_return")
    e = holiday_of(loan, 2)
    assert (e.principal_not_due, e.emi, e.last_k) == (D("10140.88"), D("1099.62"), 14)
    advance_to(loan, date(2026, 7, 16), PaysAll())
    fifth, sixth = loan.installments[4], loan.installments[5]
    assert (fifth.principal, fifth.interest) == (D("947.51"), D("466.48"))
    assert (sixth.principal, sixth.interest) == (D("961.72"), D("137.90"))
    fell_due = [x for x in loan.pending_events if isinstance(x, Loan.InstallmentFellDue)]
    assert fell_due[4].planned_interest == D("152.11") and fell_due[2].holiday is True
    assert "planned_interest" in vars(fell_due[4]) and "holiday" not in vars(fell_due[4])


def test_a_holiday_with_a_new_rate_re_plans_at_that_rate() -> None:
    loan = paying_loan()
    e = holiday_of(loan, 1, rate=D("0.0004"))
    assert (e.kind, e.rate, e.monthly_rate, e.last_k) == (
        "payment_holiday_and_rate", D("0.0004"), D("0.0120"), 13
    )  # fmt: skip
    advance_to(loan, date(2026, 5, 16), PaysAll())
    # 2026-03-15..03-19 at 0.0005 (25.00), 03-20..05-14 at 0.0004: 56 x 4.00 = 224.00
    assert (loan.installments[3].principal, loan.installments[3].interest) == (
        D("1000.00"), D("249.00")
    )  # fmt: skip


@pytest.mark.parametrize("product", ["equal_principal", "borrow_and_return", "interest_first"])
def test_a_loan_with_a_holiday_replays_clean_to_its_end(product: str) -> None:
    loan = paying_loan(product=product)
    holiday_of(loan, 3)
    advance_to(loan, date(2027, 4, 16), PaysAll())
    assert loan.is_closed and len(loan.installments) == 15
    assert [i.k for i in loan.installments if i.holiday] == [3, 4, 5]
    assert replay(loan.collect_events()).discrepancies == []


def test_other_events_keep_their_stored_form_without_the_holiday_fields() -> None:
    loan = paying_loan()
    loan.restructure(ON, term=20, rate=None, actor="ops", reason="longer")
    advance_to(loan, date(2026, 4, 16), PaysAll())
    for e in loan.collect_events():
        assert not {"holiday", "planned_interest"} & set(vars(e)), type(e).__name__
    assert all("holiday" not in i.as_dict() for i in loan.installments)


def test_a_partial_prepayment_during_a_holiday_re_plans_over_the_installments_after_it() -> None:
    """On 2026-04-20 (installment 3 moved), 1,000.00 prepaid pays the interest accrued since
    2026-03-15, 36 days x 5.00 = 180.00, and 820.00 of principal: 9,180.00 re-planned over the
    10 installments 5 to 14 at round(9,180.00 / 10) = 918.00."""
    loan = paying_loan()
    holiday_of(loan, 2)
    advance_to(loan, date(2026, 4, 20), PaysAll())
    quote = loan.prepay(date(2026, 4, 20), amount=D("1000.00"), replan=Replan.REDUCE_INSTALLMENT)
    assert (quote.interest, quote.principal, quote.principal_step) == (
        D("180.00"), D("820.00"), D("918.00")
    )  # fmt: skip
    advance_to(loan, date(2027, 3, 16), PaysAll())
    assert loan.is_closed and replay(loan.collect_events()).discrepancies == []


@pytest.mark.parametrize(
    ("overrides", "holiday", "term", "refusal"),
    [
        ({}, 0, None, "holiday: must be 1 to 12 installments, got 0"),
        ({}, 13, None, "holiday: must be 1 to 12 installments, got 13"),
        ({}, 2, 20, "give a holiday or a new term, not both"),
        ({"product": "bank_installment", "daily_rate": None, "fee_rate_per_period": "0.006"},
         2, None, "a payment holiday on a bank_installment loan is not built"),
        ({"interest_method": "per_transaction"}, 2, None,
         "a payment holiday on a per_transaction loan is not built"),
        ({"term": 359}, 2, None, "would take the term from 359 past 360"),
    ],
)  # fmt: skip
def test_a_bad_holiday_is_refused_and_records_nothing(
    overrides: dict[str, Any], holiday: int, term: int | None, refusal: str
) -> None:
    loan = paying_loan(**overrides)
    before = len(loan.pending_events)
    with pytest.raises(CommandRefused, match=refusal):
        loan.restructure(ON, term=term, rate=None, holiday=holiday, actor="o", reason="r")
    assert len(loan.pending_events) == before


def test_no_restructuring_is_taken_during_a_holiday_and_a_closed_loan_takes_no_holiday() -> None:
    loan = paying_loan()
    holiday_of(loan, 2)
    advance_to(loan, date(2026, 4, 20), PaysAll())
    before = len(loan.pending_events)
    for asked in ({"holiday": 1, "term": None}, {"holiday": None, "term": 20}):
        with pytest.raises(CommandRefused, match="installments up to #4 are a payment holiday"):
            loan.restructure(date(2026, 4, 20), rate=None, actor="o", reason="r", **asked)
    assert len(loan.pending_events) == before
    paid = paying_loan()
    paid.prepay(ON)
    with pytest.raises(CommandRefused, match="is closed"):
        paid.restructure(ON, term=None, rate=None, holiday=1, actor="o", reason="r")


def test_a_holiday_after_the_first_installment_of_a_fresh_loan_moves_it() -> None:
    """Disbursed 2026-01-15, a holiday of 1 on the day itself: installment 1 (2026-02-15) is
    moved, installment 2 (2026-03-15) charges 59 days x 12,000.00 x 0.0005 = 354.00."""
    terms = terms_from_input(product="equal_principal", principal="12000.00", term=12,
                             disbursed_on=date(2026, 1, 15), daily_rate="0.0005")  # fmt: skip
    loan = Loan.disburse(terms, loan_id=uuid4(), reference="H-1")
    advance_to(loan, date(2026, 1, 15), PaysAll())
    loan.restructure(date(2026, 1, 15), term=None, rate=None, holiday=1, actor="o", reason="r")
    advance_to(loan, date(2026, 3, 16), PaysAll())
    first, second = loan.installments
    assert first.holiday and (second.principal, second.interest) == (D("1000.00"), D("354.00"))


class PaysNothing:
    def collect(self, loan_id: Any, on: date, amount: Decimal) -> Decimal:
        return D("0")


def test_a_loan_with_every_installment_fixed_has_none_left_to_move() -> None:
    terms = terms_from_input(product="equal_principal", principal="12000.00", term=2,
                             disbursed_on=date(2026, 1, 15), daily_rate="0.0005")  # fmt: skip
    loan = Loan.disburse(terms, loan_id=uuid4(), reference="H-2")
    advance_to(loan, ON, PaysNothing())
    before = len(loan.pending_events)
    with pytest.raises(CommandRefused, match="every installment is already fixed"):
        loan.restructure(ON, term=None, rate=None, holiday=1, actor="o", reason="r")
    assert len(loan.pending_events) == before


def folded(loan: Loan) -> LoanFold:
    events = loan.collect_events()
    fold = LoanFold.disbursed(Fact(1, loan.id, 1, events[0]))
    for version, e in enumerate(events[1:], start=2):
        fold.apply(Fact(version, loan.id, version, e))
    return fold


def test_a_projection_fold_keeps_the_holiday_through_a_save_and_a_load() -> None:
    loan = paying_loan()
    holiday_of(loan, 2)
    advance_to(loan, date(2026, 4, 16), PaysAll())
    fold = folded(loan)
    again = LoanFold.from_json(fold.to_json())
    assert again.holiday_through == 4 and again.installments[2].holiday
    assert again.planned_parts(4) == fold.planned_parts(4) == loan.planned_parts(4)
    assert again.to_json() == fold.to_json()
    plain = paying_loan()
    assert "holiday" not in folded(plain).to_json()
