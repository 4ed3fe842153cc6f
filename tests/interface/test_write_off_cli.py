"""Write-off and recovery on the command line (loan-rules §14), on SQLite and PostgreSQL: a
write-off is a four-eyes request a second person approves; the written-off loan accrues nothing
and is not deducted, its owed figures are zero and ``written_off`` keeps the amount; a recovery
reduces what is written off and not recovered; every bad input is refused on one line, exit
2, with no event written; ``audit verify`` replays it clean and the journal ties out.

The loan: 12,000.00 over 12 months from 2026-01-15 at 0.05 % a day, its account empty, so
every deduction fails; three installments are overdue when it is written off on 2026-04-21.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused
from tests.interface.test_remedies_cli import assert_verified_clean

WRITE_OFF = ["loan", "write-off", "BAD", "--reason", "uncollectable"]


@pytest.fixture
def book(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Ledger:
    """BAD overdue through 2026-04-20; carol an approver, the collections desk acting."""
    monkeypatch.setenv("LEDGER_TODAY", "2026-07-01")
    monkeypatch.setenv("LEDGER_ACTOR", "collections-desk")
    monkeypatch.delenv("LEDGER_FOUR_EYES_BELOW", raising=False)
    roster = tmp_path / "keys.txt"
    made = ledger("api-key", "new", "carol", "--role", "approver", "--add-to", str(roster))
    assert made.code == 0, made.err
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(roster))
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00",
              "--term", "12", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "BAD")  # fmt: skip
    ledger.ok("bank", "set-balance", "BAD", "0.00")
    ledger.ok("close-day", "--through", "2026-04-20")
    return ledger


def written_off(book: Ledger) -> dict[str, str]:
    """BAD written off on 2026-04-21, approved by carol: the write-off's answer."""
    asked = book.ok(*WRITE_OFF, "--on", "2026-04-21")
    assert asked["result"] is None and asked["approval"]["status"] == "pending"
    assert asked["approval"]["what"] == "write the loan off"
    approved = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    result: dict[str, str] = approved["result"]
    return result


def test_a_write_off_waits_for_a_second_person_then_takes_everything_owed_off_the_book(
    book: Ledger,
) -> None:
    before = book.ok("loan", "show", "BAD")
    count = book.event_count()
    asked = book.ok(*WRITE_OFF, "--on", "2026-04-21")
    assert book.event_count() == count + 1  # the request only
    refused = book("approval", "approve", asked["approval"]["approval_id"])
    assert refused.code == 2 and "only a person with the approver role" in refused.err
    approved = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    result = approved["result"]
    assert result["principal"] == before["principal_outstanding"] == "12000.00"
    parts = ("principal", "interest", "penalty", "compound", "fees")
    assert Decimal(result["total"]) == sum(Decimal(result[p]) for p in parts)
    shown = book.ok("loan", "show", "BAD")
    assert (shown["status"], shown["principal_outstanding"], shown["amount_due"]) == (
        "written_off",
        "0.00",
        "0.00",
    )
    assert (shown["days_past_due"], shown["written_off"]) == (0, result["total"])
    assert_verified_clean(book, "BAD")


def test_a_written_off_loan_accrues_nothing_and_a_recovery_reduces_the_written_off_amount(
    book: Ledger,
) -> None:
    result = written_off(book)
    events = len(book.ok("loan", "events", "BAD"))
    book.ok("close-day", "--through", "2026-06-30")
    assert len(book.ok("loan", "events", "BAD")) == events  # no accrual, no deduction
    recovered = book.ok("loan", "recover", "BAD", "1000.00", "--on", "2026-06-01")
    total = Decimal(result["total"])
    assert recovered["outstanding_after"] == str(total - Decimal("1000.00"))
    shown = book.ok("loan", "show", "BAD")
    assert shown["written_off_outstanding"] == str(total - Decimal("1000.00"))
    assert shown["interest_accrued"] == "0.00"
    assert_verified_clean(book, "BAD")
    tie = book.ok("accounting", "tie-out")
    assert tie["holds"] is True, tie


def test_every_bad_write_off_or_recovery_is_refused_with_no_event_written(book: Ledger) -> None:
    assert_refused(book, ["loan", "recover", "BAD", "10.00"], "is not written off")
    assert_refused(book, [*WRITE_OFF, "--on", "2026-04-01"], "already closed")
    assert_refused(book, ["loan", "write-off", "BAD", "--reason", " "], "reason")
    assert_refused(book, [*WRITE_OFF, "--on", "2026-07-02"], "after the business date")
    written_off(book)
    assert_refused(book, [*WRITE_OFF], "is written off")
    assert_refused(book, ["loan", "recover", "BAD", "0.00"], "must be positive")
    assert_refused(book, ["loan", "recover", "BAD", "-5.00"])
    assert_refused(book, ["loan", "recover", "BAD", "99999.00"], "not yet recovered")
    assert_refused(book, ["loan", "recover", "BAD", "1.00", "--on", "2026-04-01"], "or later")
    assert_refused(book, ["loan", "repay", "BAD", "10.00", "--on", "2026-04-21"], "written off")
    assert_refused(
        book, ["loan", "waive", "BAD", "--penalty", "1.00", "--reason", "x"], "written off"
    )


def test_a_closed_loan_cannot_be_written_off(book: Ledger) -> None:
    book.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "1000.00",
            "--term", "3", "--disbursed-on", "2026-04-25", "--daily-rate", "0.0005",
            "--loan-id", "PAID")  # fmt: skip
    book.ok("loan", "prepay", "PAID", "--on", "2026-04-25", "--full")
    assert_refused(book, ["loan", "write-off", "PAID", "--reason", "late"], "is closed")


def test_the_read_models_show_the_written_off_loan_apart(book: Ledger) -> None:
    """The schedule marks what was not paid, and what will never fall due, written off; the
    statement's balance closes at zero (the write-off in its adjustments); the portfolio counts
    the loan apart from the open book."""
    result = written_off(book)
    book.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "1000.00",
            "--term", "3", "--disbursed-on", "2026-04-25", "--daily-rate", "0.0005",
            "--loan-id", "GOOD")  # fmt: skip
    book.ok("close-day", "--through", "2026-05-31")
    rows = book.ok("loan", "schedule", "BAD")
    assert {r["status"] for r in rows} == {"written_off"}, rows
    statements = book.ok("loan", "statement", "BAD")
    april = next(s for s in statements if s["month"] == "2026-05")
    assert (april["closing_balance"], april["adjustments"]) == (
        "0.00",
        f"-{result['total']}",
    )
    portfolio = book.ok("portfolio")
    assert (portfolio["as_of"], portfolio["open_loans"]) == ("2026-05-31", 1)  # GOOD
    assert ("written_off", 1) in [(p["status"], p["loans"]) for p in portfolio["by_product"]]
    good = book.ok("loan", "show", "GOOD")["principal_outstanding"]
    assert portfolio["principal_outstanding"] == good  # the open book: GOOD's only


def test_the_threshold_is_tested_on_what_the_write_off_would_take_on_its_day(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the review: the request's amount was what BAD owed when asked (closed through
    04-20), while a write-off dated 07-01 first runs the days to it and takes more; under a
    threshold between the two it went through with no second person. Now the request is
    rehearsed on its day: its amount is what the write-off takes, so it waits for one."""
    first = book.ok(*WRITE_OFF, "--on", "2026-04-21")["approval"]  # what 04-21 would take
    book.ok("approval", "reject", first["approval_id"], "--actor", "carol", "--reason", "later")
    threshold = Decimal(first["amount"]) + Decimal("50.00")  # about 20 days' accrual more
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", str(threshold))
    asked = book.ok(*WRITE_OFF, "--on", "2026-07-01")
    assert asked["approval"]["status"] == "pending" and asked["result"] is None
    assert Decimal(asked["approval"]["amount"]) > threshold
    approved = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    assert approved["result"]["total"] == asked["approval"]["amount"]


def test_a_waiting_write_off_does_not_block_other_requests(book: Ledger) -> None:
    """From the review: a waiting write-off was rehearsed before a later request, so a
    back-dated repayment was refused as if the loan were already written off."""
    book.ok(*WRITE_OFF, "--on", "2026-04-21")
    asked = book.ok("loan", "repay", "BAD", "100.00", "--on", "2026-03-01", "--backdated",
                    "--reason", "paid at the branch")  # fmt: skip
    assert asked["approval"]["status"] == "pending"


def test_the_report_counts_a_recovery_as_received_and_the_accrued_interest_written_off(
    book: Ledger,
) -> None:
    """From the review: the dispute report ignored recoveries (money received, a cash flow
    of the cost) and left the accrued interest a write-off took out of the interest charged."""
    result = written_off(book)
    book.ok("loan", "recover", "BAD", "300.00", "--on", "2026-04-21", "--reason", "agency")
    report = json.loads(book("audit", "report", "BAD", "--format", "json").out)
    assert report["totals"]["received"] == "300.00"
    charged_interest = Decimal(report["totals"]["interest"])
    assert charged_interest >= Decimal(result["interest"])  # every interest it wrote off


def test_explain_adds_up_after_a_write_off(book: Ledger) -> None:
    """From the review: explain's lines did not know the write-off, so no figure added up."""
    written_off(book)
    explained = book.ok("loan", "explain", "BAD")
    assert explained["adds_up"] is True, {
        name: (f["figure"], f["sum_of_parts"])
        for name, f in explained["figures"].items()
        if not f["adds_up"]
    }
    principal = explained["figures"]["principal_outstanding"]
    assert principal["lines"][-1]["rule"] == "§14"


def test_a_written_off_loan_is_listed_counted_and_exported_as_such(book: Ledger) -> None:
    """From the review: the list's status filter, the status line and the portfolio export
    did not know the status (the export put the loan in the current bucket)."""
    written_off(book)
    listed = book.ok("loan", "list", "--status", "written_off")
    assert [row["loan_id"] for row in listed["loans"]] == ["BAD"]
    status = book("status")
    assert "1 written off" in status.out, status.out
    exported = book("export", "portfolio", "--format", "json")
    (row,) = json.loads(exported.out)["rows"]
    assert (row["status"], row["bucket"], row["days_past_due"]) == ("written_off", None, 0)


def test_the_audit_page_says_the_loan_was_written_off(book: Ledger, app: LedgerApp) -> None:
    from tests.interface.test_ui_pages import serve_pages, text_of

    result = written_off(book)
    for pages in serve_pages(app):
        assert pages.sign_in().status_code == 303
        page = text_of(pages.get("/ui/loans/BAD"))
        assert "written off" in page and result["total"] in page
        assert "<dd>open</dd>" not in page


def test_section_14s_example_writes_off_12614_03(book: Ledger) -> None:
    """Section 14's example: principal 9,198.84 not yet due + 914.16 + 944.50 + 942.50 due =
    12,000.00; interest 186.00 + 155.66 + 157.66 due + 28.07 accrued since 2026-04-15 = 527.39;
    penalty 52.81 + 29.70 + 4.13 = 86.64; in all 12,614.03."""
    result = written_off(book)
    assert (result["principal"], result["interest"], result["penalty"]) == (
        "12000.00",
        "527.39",
        "86.64",
    )
    assert result["total"] == "12614.03"
