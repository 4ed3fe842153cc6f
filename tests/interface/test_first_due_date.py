"""A first due date (loan-rules section 9, issue 15 part 1), on SQLite and PostgreSQL, through
the CLI's JSON: installment 1 falls due on ``F`` (a broken first period), installment ``k`` on
``F + (k-1) months``; its interest is what the broken period accrued."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused

OPEN = ["loan", "open", "--principal", "10000.00", "--term", "6", "--daily-rate", "0.0005"]


@pytest.fixture(autouse=True)
def business_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-12-01")


def schedule(ledger: Ledger, ref: str) -> list[tuple[int, str, str, str]]:
    rows: list[dict[str, Any]] = ledger.ok("loan", "schedule", ref)
    return [(r["k"], r["due_date"], r["principal"], r["interest"]) for r in rows]


def test_section_9_example_interest_first_with_a_short_first_period(ledger: Ledger) -> None:
    """10,000.00 interest_first at 0.05 %/day, D0 2026-01-10, F 2026-02-01: installment 1 is
    22 days x 5.00 = 110.00, installment 2 (2026-03-01) 28 x 5.00 = 140.00."""
    opened = ledger.ok(*OPEN, "--product", "interest_first", "--disbursed-on", "2026-01-10",
                       "--first-due-date", "2026-02-01", "--loan-id", "IF")  # fmt: skip
    assert opened["first_due_date"] == "2026-02-01"
    ledger.ok("bank", "set-balance", "IF", "100000.00")
    ledger.ok("close-day", "--through", "2026-03-02")
    rows = schedule(ledger, "IF")
    assert rows[:3] == [
        (1, "2026-02-01", "0.00", "110.00"),
        (2, "2026-03-01", "0.00", "140.00"),
        (3, "2026-04-01", "0.00", "150.00"),  # planned: 10,000.00 x 0.015
    ]
    assert rows[-1][:3] == (6, "2026-07-01", "10000.00")
    assert ledger.ok("audit", "verify", "IF")["clean"] is True
    statements = ledger.ok("loan", "statement", "IF")
    periods = [(s["cycle"], s["period_start"], s["period_end"]) for s in statements[:2]]
    assert periods == [(1, "2026-01-10", "2026-02-01"), (2, "2026-02-02", "2026-03-01")]


def test_a_long_first_period_keeps_the_emi_and_its_first_split_takes_the_interest(
    ledger: Ledger,
) -> None:
    """equal_installment, D0 2026-01-15, F 2026-03-10 (54 days): the EMI is section 5's; the
    first installment's interest is 54 x 10,000.00 x 0.0005 = 270.00 and its principal the
    EMI less that."""
    opened = ledger.ok(*OPEN, "--product", "repay_on_schedule", "--disbursed-on", "2026-01-15",
                       "--first-due-date", "2026-03-10", "--loan-id", "EQ")  # fmt: skip
    emi = Decimal(opened["emi"])
    ledger.ok("bank", "set-balance", "EQ", "100000.00")
    ledger.ok("close-day", "--through", "2026-04-10")
    rows = schedule(ledger, "EQ")
    assert rows[0][:2] == (1, "2026-03-10") and rows[1][1] == "2026-04-10"
    assert rows[0][3] == "270.00"
    assert Decimal(rows[0][2]) == emi - Decimal("270.00")
    assert ledger.ok("audit", "verify", "EQ")["clean"] is True


def test_each_later_due_date_is_counted_from_the_first_one_and_clamped(ledger: Ledger) -> None:
    ledger.ok(*OPEN, "--product", "equal_principal", "--disbursed-on", "2026-01-31",
              "--first-due-date", "2026-02-28", "--loan-id", "END")  # fmt: skip
    dates = [row[1] for row in schedule(ledger, "END")]
    assert dates == ["2026-02-28", "2026-03-28", "2026-04-28", "2026-05-28", "2026-06-28",
                     "2026-07-28"]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "needle"),
    [
        ("2026-01-10", "must be after disbursed_on 2026-01-10"),
        ("2026-01-09", "must be after disbursed_on"),
        ("2026-03-11", "at most two months later (2026-03-10), got 2026-03-11"),
        ("2026-02-30", "2026-02-30"),
        ("2026/02/01", "2026/02/01"),
    ],
)
def test_a_first_due_date_out_of_range_is_refused_and_writes_nothing(
    ledger: Ledger, first: str, needle: str
) -> None:
    args = [*OPEN, "--product", "interest_first", "--disbursed-on", "2026-01-10",
            "--first-due-date", first, "--loan-id", "BAD"]  # fmt: skip
    assert_refused(ledger, args, needle)


def test_without_a_first_due_date_the_recorded_terms_are_as_before(ledger: Ledger) -> None:
    """The default writes no ``first_due_date`` into the terms: loans recorded before it
    existed read, and hash, exactly as they were written."""
    ledger.ok(*OPEN, "--product", "interest_first", "--disbursed-on", "2026-01-10",
              "--loan-id", "PLAIN")  # fmt: skip
    app = LedgerApp.from_url(ledger.db_url)
    try:
        first = app.loan_events("PLAIN")[0]
        assert "first_due_date" not in first.terms
    finally:
        app.close()
    assert schedule(ledger, "PLAIN")[0][1] == "2026-02-10"


def test_what_if_answers_a_dispute_about_the_first_due_date(ledger: Ledger) -> None:
    """The borrower says the first installment should have been due a month after D0: the
    what-if moves it and shows what installment 1 would have charged (31 x 5.00 = 155.00)."""
    ledger.ok(*OPEN, "--product", "interest_first", "--disbursed-on", "2026-01-10",
              "--first-due-date", "2026-02-01", "--loan-id", "WI")  # fmt: skip
    ledger.ok("bank", "set-balance", "WI", "100000.00")
    ledger.ok("close-day", "--through", "2026-02-15")
    answer = ledger.ok("audit", "what-if", "WI", "--set", "first_due_date=2026-02-10")
    first = next(row for row in answer["installments"] if row["k"] == 1)
    assert (first["charged"]["interest"], first["would_have_been"]["interest"]) == (
        "110.00",
        "155.00",
    )
