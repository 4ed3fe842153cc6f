"""The projection commands through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import Ledger
from tests.interface.test_refused_commands_cli import assert_refused

ALICE = [
    "loan",
    "open",
    "--product",
    "repay_on_schedule",
    "--principal",
    "12000.00",
    "--term",
    "12",
    "--disbursed-on",
    "2026-01-15",
    "--daily-rate",
    "0.0005",
]


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    ledger.ok(*ALICE, "--loan-id", "ALICE")
    ledger.ok(*ALICE, "--loan-id", "BOB")
    ledger.ok("bank", "set-balance", "BOB", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    return ledger


def test_a_statement_ends_on_the_due_date_and_adds_up_to_the_fen(book: Ledger) -> None:
    s = book.ok("loan", "statement", "ALICE", "--month", "2026-02")
    assert (s["period_start"], s["period_end"]) == ("2026-01-15", "2026-02-15")
    assert s["opening_balance"] == "0.00"
    assert s["disbursed"] == "12000.00"
    # 31 days x 6.00 for installment 1, then Feb 15's accrual on 11,085.84 x 0.0005
    assert s["normal_accrued"] == "191.54292"  # exactly: 186.00 + 5.54292
    assert s["interest"] == "191.54"
    assert (s["deducted_interest"], s["deducted_principal"]) == ("186.00", "914.16")
    assert s["paid_total"] == "1100.16"
    assert s["closing_balance"] == "11091.38"  # 12000 + 191.54 - 1100.16
    nxt = book.ok("loan", "statement", "ALICE", "--month", "2026-03")
    assert nxt["opening_balance"] == s["closing_balance"]


def test_a_missed_installment_shows_on_the_statement_as_penalty_and_nothing_paid(
    book: Ledger,
) -> None:
    s = book.ok("loan", "statement", "BOB", "--month", "2026-03")
    assert s["paid_total"] == "0.00"
    assert s["penalty"] != "0.00"
    everything = book.ok("loan", "statement", "BOB")
    assert [x["month"] for x in everything] == ["2026-02", "2026-03"]


def test_the_statement_table_prints_every_line(book: Ledger) -> None:
    result = book("loan", "statement", "ALICE", "--month", "2026-02")
    assert result.code == 0, result.err
    for line in ("opening balance", "deducted: interest", "closing balance", "11091.38"):
        assert line in result.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["loan", "statement", "ALICE", "--month", "2026-13"], "not a month"),
        (["loan", "statement", "ALICE", "--month", "Feb"], "not a month"),
        (["loan", "statement", "ALICE", "--month", "2027-06"], "no statement for 2027-06"),
        (["loan", "statement", "NOBODY", "--month", "2026-02"], "unknown loan NOBODY"),
        (["portfolio", "--as-of", "2026-02-30"], "not a date"),
        (["portfolio", "--as-of", "2027-01-01"], "run only through 2026-03-01"),
        (["projections", "rebuild", "ledgers"], "ledgers"),
        (["projections", "catch-up", "--page", "0"], "--page"),
        (["projections", "run", "--poll", "0"], "--poll"),
    ],
)
def test_bad_input_to_the_projection_commands_is_one_line_and_writes_nothing(
    book: Ledger, args: list[str], needle: str
) -> None:
    assert_refused(book, args, needle)


def test_the_portfolio_puts_a_missed_installment_in_the_1_to_30_bucket(book: Ledger) -> None:
    report = book.ok("portfolio")
    assert report["as_of"] == "2026-03-01"
    buckets = {b["bucket"]: b for b in report["buckets"]}
    assert buckets["current"]["loans"] == 1
    assert buckets["1-30"]["loans"] == 1  # overdue from 2026-02-16: 14 days on 2026-03-01
    assert buckets["1-30"]["overdue_amount"] == "1100.16"
    by_status = {(r["product"], r["status"]): r["loans"] for r in report["by_product"]}
    assert by_status == {("repay_on_schedule", "active"): 1, ("repay_on_schedule", "overdue"): 1}
    before = book.ok("portfolio", "--as-of", "2026-02-10")
    assert {b["bucket"]: b["loans"] for b in before["buckets"]}["current"] == 2
    assert before["principal_outstanding"] == "24000.00"


def test_projection_status_shows_the_lag_until_a_catch_up(book: Ledger) -> None:
    status = {s["name"]: s for s in book.ok("projections", "status")}
    assert status["statements"]["lag"] > 0
    caught = book.ok("projections", "catch-up")
    assert caught["projections"]["statements"] == status["statements"]["lag"]
    assert all(s["lag"] == 0 for s in book.ok("projections", "status"))
    rebuilt = book.ok("projections", "rebuild", "balances")
    assert list(rebuilt["projections"]) == ["balances"]
    # statements had never run: its lag was every loan event, which a rebuild replays
    assert rebuilt["projections"]["balances"] == status["statements"]["lag"]


def test_loan_show_catches_the_balances_up_or_says_how_stale_they_are(book: Ledger) -> None:
    assert book.ok("loan", "show", "ALICE")["as_of"] == "2026-03-01"
    book.ok("close-day", "--through", "2026-03-05")
    stale = book("loan", "show", "ALICE", "--stale-ok", "--json")
    assert stale.code == 0
    assert stale.json["as_of"] == "2026-03-01"
    assert "projection balances is" in stale.err and "events behind" in stale.err
    assert book.ok("loan", "show", "ALICE")["as_of"] == "2026-03-05"


def test_after_a_partial_prepayment_the_schedule_shows_the_new_plan(book: Ledger) -> None:
    """Issue 11: the schedule kept the old plan for the installments still to come (one
    shown with 66.19 of principal came out at 2.99). The new EMI is 626.76, not 1100.16."""
    prepaid = book.ok("loan", "prepay", "ALICE", "--on", "2026-03-02", "--amount", "5000.00")
    assert prepaid["emi"] == "626.76"
    upcoming = [r for r in book.ok("loan", "schedule", "ALICE") if r["estimated"]]
    assert [r["k"] for r in upcoming] == list(range(2, 13))
    for row in upcoming[:-1]:
        assert row["principal"] == row["planned_principal"]
        assert Decimal(row["principal"]) + Decimal(row["interest"]) == Decimal("626.76")
    book.ok("close-day", "--through", "2026-03-15")
    second = book.ok("loan", "schedule", "ALICE")[1]
    assert (second["estimated"], second["principal"], second["interest"]) == (
        False,
        "585.73",  # 626.76 - 41.03: 13 days of interest on 6,312.19 after the prepayment
        "41.03",
    )


def test_the_schedule_shows_plan_and_actual_side_by_side(book: Ledger) -> None:
    rows = book.ok("loan", "schedule", "ALICE")
    first = rows[0]
    assert (first["planned_principal"], first["planned_interest"]) == ("920.16", "180.00")
    assert (first["principal"], first["interest"]) == ("914.16", "186.00")
    assert (first["status"], first["last_paid_on"]) == ("paid", "2026-02-15")
    assert rows[1]["status"] == "upcoming" and rows[1]["estimated"] is True
    assert len(rows) == 12
    bob = book.ok("loan", "schedule", "BOB")
    assert (bob[0]["status"], bob[0]["overdue_from"]) == ("overdue", "2026-02-16")
