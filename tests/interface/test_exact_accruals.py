"""Accruals are exact (loan-rules section 4): the issue's three half-fen ties, each through
the command line on a fresh store. Before exact accruals each came out a fen short, because
the day's rate ``annual_rate / 360`` (or ``/366``) was cut to 28 digits and the sums fell off
the tie."""

from __future__ import annotations

from tests.conftest import Ledger


def open_loan(ledger: Ledger, loan_id: str, *terms: str) -> None:
    ledger.ok("loan", "open", "--loan-id", loan_id, *terms)


def test_nine_days_of_penalty_on_20_00_at_15_percent_over_360_round_up_to_0_08(
    ledger: Ledger,
) -> None:
    open_loan(
        ledger,
        "TIE-PENALTY",
        *("--product", "borrow_and_return", "--principal", "567.08", "--term", "36"),
        *("--disbursed-on", "2024-06-26", "--annual-rate", "0.15", "--day-count", "ACT/360"),
        *("--penalty-multiplier", "1", "--installment-multiple", "1"),
    )
    ledger.ok("bank", "set-balance", "TIE-PENALTY", "0")
    ledger.ok("close-day", "--through", "2024-08-04")
    shown = ledger.ok("loan", "show", "TIE-PENALTY", "--as-of", "2024-08-04")
    # exactly 9 x 20.00 x 0.15 / 360 = 0.075 -> 0.08 (half up)
    assert shown["penalty_accrued"] == "0.08"
    explained = ledger.ok("loan", "explain", "TIE-PENALTY", "--as-of", "2024-08-04")
    assert explained["adds_up"] is True
    lines = explained["figures"]["penalty_accrued"]["lines"]
    assert len(lines) == 9 and all(line["exact"] == "1/120" for line in lines)
    assert "/ 360" in lines[0]["arithmetic"]
    assert ledger.ok("audit", "verify", "TIE-PENALTY")["clean"] is True


def test_thirty_days_of_act_act_interest_in_a_leap_year_round_up_to_8_22(
    ledger: Ledger,
) -> None:
    open_loan(
        ledger,
        "TIE-ACTACT",
        *("--product", "interest_first", "--principal", "1002.23", "--term", "2"),
        *("--disbursed-on", "2024-04-01", "--annual-rate", "0.1", "--day-count", "ACT/ACT"),
    )
    ledger.ok("close-day", "--through", "2024-05-01")
    first = ledger.ok("loan", "schedule", "TIE-ACTACT")[0]
    # exactly 1002.23 x 0.1 x 30 / 366 = 8.215 -> 8.22
    assert (first["k"], first["interest"]) == (1, "8.22")


def test_a_flat_loan_s_interest_after_its_due_date_ties_at_109_475_and_rounds_up(
    ledger: Ledger,
) -> None:
    open_loan(
        ledger,
        "TIE-FLAT",
        *("--product", "mall_installment", "--principal", "30200.00", "--term", "1"),
        *("--disbursed-on", "2024-10-07", "--annual-rate", "0.0725", "--day-count", "ACT/360"),
    )
    ledger.ok("bank", "set-balance", "TIE-FLAT", "0")
    ledger.ok("close-day", "--through", "2024-11-24")
    shown = ledger.ok("loan", "show", "TIE-FLAT", "--as-of", "2024-11-24")
    # 30200.00 + 188.54 (31 days) + round(exactly 109.475): 18 days after the due date
    assert shown["overdue_amount"] == "30498.02"
    assert ledger.ok("loan", "explain", "TIE-FLAT")["adds_up"] is True
