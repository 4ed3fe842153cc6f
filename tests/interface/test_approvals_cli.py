"""Four-eyes approval on the command line (issue 14, point 3; loan-rules §12.5), on SQLite and
PostgreSQL: a waiver, a refund, a back-dated repayment or a reversal is a request until a second
person with the approver role approves it; the requester cannot; an auditor cannot ask; under
``LEDGER_FOUR_EYES_BELOW`` it is carried out at once and the request says which rule applied.

The roster (who holds which role) is the API keys file; the loan is section 8 example 2's,
paid off on 2026-01-04 with its 3 % prepayment fee (300.00); its account holds 1,000.00.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.services import integrity
from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused
from tests.interface.test_remedies_cli import account_balance, assert_verified_clean

WAIVE = ["loan", "waive", "FEE", "--fee", "300.00", "--reason", "fee disputed: upheld"]
REFUND = ["loan", "refund", "FEE", "300.00", "--reason", "the waived fee"]


@pytest.fixture
def book(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Ledger:
    """FEE paid off with its fee; carol and dave approvers, ann an auditor, the desk acting."""
    monkeypatch.setenv("LEDGER_TODAY", "2026-03-01")
    monkeypatch.setenv("LEDGER_ACTOR", "complaints-desk")
    monkeypatch.delenv("LEDGER_FOUR_EYES_BELOW", raising=False)
    roster = tmp_path / "keys.txt"
    for name, role in (("carol", "approver"), ("dave", "approver"), ("ann", "auditor")):
        made = ledger("api-key", "new", name, "--role", role, "--add-to", str(roster))
        assert made.code == 0, made.err
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(roster))
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "10000.00",
              "--term", "12", "--disbursed-on", "2026-01-01", "--daily-rate", "0.0005",
              "--loan-id", "FEE")  # fmt: skip
    ledger.ok("bank", "set-balance", "FEE", "1000.00")
    assert ledger.ok("loan", "prepay", "FEE", "--on", "2026-01-04", "--full")["fee"] == "300.00"
    return ledger


def test_a_waiver_and_a_refund_wait_for_a_second_person_then_the_money_goes_back(
    book: Ledger,
) -> None:
    before = len(book.ok("loan", "events", "FEE"))
    waiver = book.ok(*WAIVE)
    assert waiver["result"] is None
    asked = waiver["approval"]
    assert (asked["approval_id"], asked["status"], asked["rule"]) == (
        "APR-000001",
        "pending",
        "four_eyes",
    )
    assert (asked["requested_by"], asked["what"]) == ("complaints-desk", "waive 300.00 of the fee")
    # a refund of the credit the waiting waiver will make may be asked for now
    assert book.ok(*REFUND)["approval"]["approval_id"] == "APR-000002"
    assert len(book.ok("loan", "events", "FEE")) == before  # nothing happened to the loan
    assert book.ok("loan", "show", "FEE")["credit"] == "0.00"

    approved = book.ok("approval", "approve", "APR-000001", "--actor", "carol")
    assert approved["approval"]["status"] == "approved"
    assert approved["approval"]["decided_by"] == "carol"
    assert (approved["result"]["credited"], approved["result"]["credit"]) == ("300.00", "300.00")
    assert approved["result"]["actor"] == "complaints-desk"  # who asked
    paid = book.ok("approval", "approve", "APR-000002", "--actor", "dave")["result"]
    assert (paid["credit_before"], paid["credit_after"]) == ("300.00", "0.00")
    assert str(account_balance(book, "FEE")) == "1300.00"
    assert_verified_clean(book, "FEE")
    listed = book.ok("approval", "list", "--loan", "FEE")
    assert [(r["status"], r["decided_by"]) for r in listed["approvals"]] == [
        ("approved", "carol"),
        ("approved", "dave"),
    ]
    events = book.ok("loan", "events", "FEE")
    assert [e["type"] for e in events[before:]] == ["PaidChargeWaived", "Refunded"]


def test_the_requester_cannot_approve_their_own_request_even_as_an_approver(
    book: Ledger,
) -> None:
    book.ok(*WAIVE, "--actor", "carol")
    assert_refused(book, ["approval", "approve", "APR-000001", "--actor", "Carol"],
                   "requester cannot approve their own request")  # fmt: skip
    assert_refused(book, ["approval", "reject", "APR-000001", "--reason", "no", "--actor", "carol"],
                   "cannot reject their own request")  # fmt: skip
    assert book.ok("approval", "show", "APR-000001")["status"] == "pending"


def test_an_operator_cannot_approve_and_an_auditor_cannot_ask(book: Ledger) -> None:
    book.ok(*WAIVE)
    assert_refused(book, ["approval", "approve", "APR-000001", "--actor", "erin"],
                   "erin holds the operator role", "approver role")  # fmt: skip
    assert_refused(book, [*WAIVE, "--actor", "ann"], "auditor cannot ask for a waiver")
    assert_refused(book, [*REFUND, "--actor", "ann"], "auditor cannot ask for a refund")


def test_a_request_that_could_never_be_carried_out_is_refused_and_records_nothing(
    book: Ledger,
) -> None:
    assert_refused(book, REFUND, "cannot refund 300.00", "credit owed to the borrower is 0.00")
    book.ok(*WAIVE)
    assert_refused(book, ["loan", "refund", "FEE", "300.01", "--reason", "x"], "cannot refund")
    assert_refused(book, ["loan", "waive", "FEE", "--fee", "0.01", "--reason", "x"],
                   "cannot waive 0.01 of fee")  # fmt: skip  # the pending 300.00 is all of it
    assert_refused(book, ["approval", "approve", "APR-000009", "--actor", "carol"],
                   "unknown approval request APR-000009")  # fmt: skip


def test_an_approval_the_loan_now_refuses_records_nothing_and_the_request_waits(
    book: Ledger,
) -> None:
    book.ok(*WAIVE)
    book.ok(*REFUND)
    assert_refused(book, ["approval", "approve", "APR-000002", "--actor", "carol"],
                   "credit owed to the borrower is 0.00")  # fmt: skip
    assert book.ok("approval", "show", "APR-000002")["status"] == "pending"
    book.ok("approval", "approve", "APR-000001", "--actor", "carol")
    book.ok("approval", "approve", "APR-000002", "--actor", "carol")
    assert_refused(book, ["approval", "approve", "APR-000002", "--actor", "dave"],
                   "already approved")  # fmt: skip


def test_a_rejected_request_changes_nothing_and_says_who_and_why(book: Ledger) -> None:
    book.ok(*WAIVE)
    rejected = book.ok("approval", "reject", "APR-000001", "--reason", "not upheld",
                       "--actor", "dave")  # fmt: skip
    assert rejected["result"] is None
    view = rejected["approval"]
    assert (view["status"], view["decided_by"], view["decision_reason"]) == (
        "rejected",
        "dave",
        "not upheld",
    )
    assert book.ok("loan", "show", "FEE")["credit"] == "0.00"
    assert_refused(book, ["approval", "approve", "APR-000001", "--actor", "carol"],
                   "already rejected")  # fmt: skip


def test_under_the_threshold_it_is_carried_out_at_once_and_the_rule_is_recorded(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "300.01")
    waived = book.ok(*WAIVE)
    assert waived["credit"] == "300.00"
    rule = waived["approval"]
    assert (rule["status"], rule["rule"], rule["threshold"], rule["decided_by"]) == (
        "approved",
        "below_threshold",
        "300.01",
        None,
    )
    assert "below the four-eyes threshold of 300.01" in rule["rule_text"]
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "300.00")  # not under: equal
    assert book.ok(*REFUND)["approval"]["rule"] == "four_eyes"
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "1000.00")  # 300.00 today + 100.00 < it
    text = book(*REFUND[:3], "100.00", "--reason", "part")  # carried out at once
    assert text.code == 0, text.err
    assert "APR-000003: below the four-eyes threshold of 1000.00" in text.out
    assert book.ok("loan", "show", "FEE")["credit"] == "200.00"
    assert_refused(book, ["approval", "approve", "APR-000002", "--actor", "carol"],
                   "cannot refund 300.00: the credit owed to the borrower is 200.00")  # fmt: skip


@pytest.mark.parametrize("threshold", ["1,50", "-5.00", "0", "1e3", "abc"])
def test_a_bad_threshold_setting_is_one_line_and_writes_nothing(
    book: Ledger, monkeypatch: pytest.MonkeyPatch, threshold: str
) -> None:
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", threshold)
    assert_refused(book, WAIVE, "LEDGER_FOUR_EYES_BELOW")


def test_a_back_dated_repayment_and_a_reversal_are_approved_as_corrections(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-04-01")
    roster = tmp_path / "keys.txt"
    ledger("api-key", "new", "carol", "--role", "approver", "--add-to", str(roster))
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(roster))
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "6000.00",
              "--term", "6", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "B")  # fmt: skip
    ledger.ok("bank", "set-balance", "B", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    asked = ledger.ok("loan", "repay", "B", "50.00", "--on", "2026-02-20", "--backdated",
                      "--reason", "branch receipt", "--actor", "desk")  # fmt: skip
    assert asked["approval"]["what"] == "record a repayment of 50.00 back-dated to 2026-02-20"
    done = ledger.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    assert (done["result"]["kind"], done["result"]["amount"]) == ("backdated_repayment", "50.00")
    repaid = ledger.ok("loan", "repay", "B", "20.00", "--on", "2026-03-02")
    version = next(e["version"] for e in ledger.ok("loan", "events", "B") if e["type"] == "Repaid")
    asked = ledger.ok("loan", "reverse", "B", "--event", str(version), "--reason", "bounced",
                      "--actor", "desk")  # fmt: skip
    assert (asked["approval"]["amount"], asked["approval"]["status"]) == ("20.00", "pending")
    assert_refused(ledger, ["loan", "reverse", "B", "--event", str(version), "--reason", "again"],
                   f"event {version} was already reversed")  # fmt: skip  # by the one waiting
    assert repaid["amount"] == "20.00"
    done = ledger.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    assert (done["result"]["kind"], done["result"]["reverses"]) == ("reversal", version)
    assert ledger.ok("audit", "verify", "B")["clean"] is True
    assert_refused(ledger, ["loan", "reverse", "B", "--event", "1", "--reason", "x"],
                   "only a deduction or a repayment can be reversed")  # fmt: skip


def test_a_waiting_request_the_loan_now_refuses_does_not_block_the_next_one(book: Ledger) -> None:
    book.ok(*WAIVE)
    book.ok(*REFUND)  # counts on the waiver's credit
    book.ok("approval", "reject", "APR-000001", "--reason", "asked twice", "--actor", "carol")
    again = book.ok(*WAIVE)  # APR-000002 (the refund) would now be refused: passed over
    assert again["approval"]["approval_id"] == "APR-000003"
    assert_refused(book, ["loan", "waive", "FEE", "--fee", "0.01", "--reason", "x"],
                   "cannot waive 0.01 of fee")  # fmt: skip  # the waiting 300.00 is all of it


def test_a_request_on_a_quarantined_loan_is_refused_and_records_nothing(book: Ledger) -> None:
    app = LedgerApp.from_url(book.db_url)
    try:
        integrity.quarantine(app, app.get_loan("FEE").id, "FEE", 6, "a test")
    finally:
        app.close()
    assert_refused(book, WAIVE, "loan FEE is quarantined")


@pytest.mark.parametrize(
    "disguise", ["api:carol", "carol\u200b", "CAROL", "\uff43\uff41\uff52\uff4f\uff4c"]
)  # the last: full-width
def test_the_requester_is_the_same_person_whatever_way_the_name_is_written(
    book: Ledger, disguise: str
) -> None:
    book.ok(*WAIVE, "--actor", disguise)
    assert_refused(book, ["approval", "approve", "APR-000001", "--actor", "carol"],
                   "requester cannot approve")  # fmt: skip


def test_amounts_cut_small_do_not_pass_under_the_threshold_together(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a threshold of 100.00, 60.00 is carried out at once; a second 60.00 on the same
    loan and day is not (60.00 + 60.00 >= 100.00): it waits for a second person."""
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "100.00")
    first = book.ok("loan", "waive", "FEE", "--fee", "60.00", "--reason", "part 1")
    assert (first["approval"]["rule"], first["approval"]["counted_today"]) == (
        "below_threshold",
        "0.00",
    )
    second = book.ok("loan", "waive", "FEE", "--fee", "60.00", "--reason", "part 2")
    assert (second["approval"]["rule"], second["approval"]["counted_today"]) == (
        "four_eyes",
        "60.00",
    )
    third = book.ok("loan", "refund", "FEE", "39.99", "--reason", "part 3")  # 60 + 39.99 < 100
    assert third["approval"]["rule"] == "below_threshold" and third["credit_after"] == "20.01"
    assert "with 60.00 before it today" in third["approval"]["rule_text"]
