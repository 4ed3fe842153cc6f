"""Section 10's pure pieces: whole months counted from a piece's start, the month entry's
arithmetic, and a loan's fold saved before ``piece_from`` existed."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from ledger.domain.money import Exact
from ledger.domain.per_transaction import (
    MonthRate,
    completed_month,
    month_adjustment,
    month_entry,
    piece_origin,
)
from ledger.domain.rules import DayRate
from projections.facts import Fact
from projections.loan_fold import LoanFold
from tests.unit.test_loan_aggregate import disburse, make_terms


def test_a_month_completes_the_day_before_the_same_day_of_the_next_month() -> None:
    assert completed_month(date(2026, 1, 15), 0, date(2026, 2, 14)) == (1, date(2026, 1, 15))
    assert completed_month(date(2026, 1, 15), 0, date(2026, 2, 13)) is None
    assert completed_month(date(2026, 1, 15), 0, date(2026, 3, 14)) == (2, date(2026, 2, 15))


def test_months_are_counted_from_the_loans_origin_as_due_dates_are() -> None:
    """From 01-31 the due dates are 02-28 and 03-31 (section 2); the period from 02-28 is one
    whole month, ending 03-30, not 02-28 + 1 month = 03-28 (which would add 3 odd days)."""
    origin = date(2026, 1, 31)
    assert completed_month(origin, 0, date(2026, 2, 27)) == (1, date(2026, 1, 31))
    assert completed_month(origin, 1, date(2026, 3, 27)) is None
    assert completed_month(origin, 1, date(2026, 3, 30)) == (1, date(2026, 2, 28))


def test_a_piece_started_by_a_prepayment_counts_from_its_own_day() -> None:
    assert completed_month(date(2026, 3, 5), 0, date(2026, 4, 4)) == (1, date(2026, 3, 5))


def test_the_month_replaces_its_odd_days_exactly() -> None:
    """12,000.00 x 0.18 / 12 = 180 in place of 31 x 12,000.00 x 0.18 / 360 = 186: -6."""
    entry = month_entry(
        origin=date(2026, 1, 15),
        offset=0,
        on=date(2026, 2, 14),
        base=Decimal("12000.00"),
        day_rate=DayRate(Decimal("0.18"), 360, 1),
        monthly=MonthRate(Decimal("0.18"), 1, 12),
    )
    assert entry is not None
    assert (entry["month_interest"], entry["odd_interest"], entry["amount"]) == (
        Decimal("180"),
        Decimal("186"),
        Decimal("-6"),
    )
    assert month_adjustment(entry) == Exact(-6)


def test_the_piece_starts_at_the_period_or_a_later_prepayment() -> None:
    d0, first_due = date(2026, 1, 15), date(2026, 2, 25)
    assert piece_origin(d0, None, 0, None) == (d0, 0)
    assert piece_origin(d0, None, 2, None) == (d0, 2)
    assert piece_origin(d0, first_due, 0, None) == (d0, 0)
    assert piece_origin(d0, first_due, 2, None) == (first_due, 1)  # from 2026-03-25
    assert piece_origin(d0, None, 1, date(2026, 3, 5)) == (date(2026, 3, 5), 0)
    assert piece_origin(d0, None, 2, date(2026, 3, 5)) == (d0, 2)  # an earlier period's


def test_a_fold_saved_before_piece_from_existed_still_loads() -> None:
    loan = disburse(make_terms())
    (opened,) = loan.collect_events()
    fold = LoanFold.disbursed(Fact(1, loan.id, 1, opened))
    saved = json.loads(fold.to_json())
    del saved["piece_from"]
    loaded = LoanFold.from_json(json.dumps(saved))
    assert loaded.piece_from is None
    assert loaded.piece_origin == (fold.terms.disbursed_on, 0)
