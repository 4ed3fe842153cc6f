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
    piece_start,
)
from ledger.domain.rules import DayRate
from projections.facts import Fact
from projections.loan_fold import LoanFold
from tests.unit.test_loan_aggregate import disburse, make_terms


def test_a_month_completes_the_day_before_the_same_day_of_the_next_month() -> None:
    assert completed_month(date(2026, 1, 15), date(2026, 2, 14)) == (1, date(2026, 1, 15))
    assert completed_month(date(2026, 1, 15), date(2026, 2, 13)) is None
    assert completed_month(date(2026, 1, 15), date(2026, 3, 14)) == (2, date(2026, 2, 15))


def test_month_end_clamping_counts_from_the_piece_start() -> None:
    """01-31 + 1 month = 02-28, so month 1 ends on 02-27; 02-28 + 1 month = 03-28."""
    assert completed_month(date(2026, 1, 31), date(2026, 2, 27)) == (1, date(2026, 1, 31))
    assert completed_month(date(2026, 2, 28), date(2026, 3, 27)) == (1, date(2026, 2, 28))
    assert completed_month(date(2026, 2, 28), date(2026, 3, 30)) is None


def test_the_month_replaces_its_odd_days_exactly() -> None:
    """12,000.00 x 0.18 / 12 = 180 in place of 31 x 12,000.00 x 0.18 / 360 = 186: -6."""
    entry = month_entry(
        piece_start=date(2026, 1, 15),
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


def test_a_prepayment_later_in_the_period_starts_the_piece() -> None:
    assert piece_start(date(2026, 2, 15), None) == date(2026, 2, 15)
    assert piece_start(date(2026, 2, 15), date(2026, 3, 5)) == date(2026, 3, 5)
    assert piece_start(date(2026, 3, 15), date(2026, 3, 5)) == date(2026, 3, 15)


def test_a_fold_saved_before_piece_from_existed_still_loads() -> None:
    loan = disburse(make_terms())
    (opened,) = loan.collect_events()
    fold = LoanFold.disbursed(Fact(1, loan.id, 1, opened))
    saved = json.loads(fold.to_json())
    del saved["piece_from"]
    loaded = LoanFold.from_json(json.dumps(saved))
    assert loaded.piece_from is None
    assert loaded.piece_start_on == fold.terms.disbursed_on
