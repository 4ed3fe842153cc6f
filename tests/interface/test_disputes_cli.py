"""``ledger dispute ...`` on both stores (issue 14, point 1): a case through every step, as
JSON and as readable lines; one-line errors that write nothing; the list's filters; the
dispute report's section; help and metavars."""

from __future__ import annotations

import pytest

from tests.conftest import Ledger

OPEN_LOAN = ["loan", "open", "--product", "repay_on_schedule", "--principal", "6000.00",
             "--term", "3", "--disbursed-on", "2026-01-10", "--daily-rate", "0.0005",
             "--loan-id", "DANA-7"]  # fmt: skip
OPEN_CASE = ["dispute", "open", "DANA-7", "--charge", "penalty", "--amount", "5.00", "--from",
             "2026-02-11", "--to", "2026-02-20", "--claim", "paid at the branch on Feb 10",
             "--received-by", "branch 12", "--channel", "branch", "--channel-ref", "R-88213",
             "--actor", "li.wei"]  # fmt: skip


@pytest.fixture
def dana(ledger: Ledger) -> Ledger:
    ledger.ok(*OPEN_LOAN)
    assert ledger("bank", "set-balance", "DANA-7", "0").code == 0
    ledger.ok("close-day", "--through", "2026-02-20")
    return ledger


def test_a_case_is_opened_given_findings_decided_and_closed(dana: Ledger) -> None:
    case = dana.ok(*OPEN_CASE)
    assert (case["dispute_id"], case["status"], case["claim"]["actor"]) == (
        "DSP-000001", "open", "li.wei",
    )  # fmt: skip
    dana.ok("dispute", "attach", "DSP-000001", "--verify", "--note", "chain intact")
    dana.ok("dispute", "attach", "DSP-000001", "--what-if", "penalty_multiplier=1.0")
    case = dana.ok("dispute", "attach", "DSP-000001", "--explain", "penalty_accrued")
    assert [f["kind"] for f in case["findings"]] == ["verify", "what_if", "explain"]
    case = dana.ok("dispute", "decide", "DSP-000001", "--outcome", "partly_upheld", "--reason",
                   "receipt 88213", "--remedy", "waive the penalty", "--amount", "5.00",
                   "--actor", "officer")  # fmt: skip
    assert case["decision"] == {**case["decision"], "outcome": "partly_upheld", "actor": "officer"}
    case = dana.ok("dispute", "close", "DSP-000001", "--note", "waived", "--actor", "officer")
    assert case["status"] == "closed" and case["closure"]["note"] == "waived"
    assert dana.ok("dispute", "show", "DSP-000001") == case
    shown = dana("dispute", "show", "DSP-000001")
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[0] == "Dispute DSP-000001 on loan DANA-7: closed"
    assert "claim: penalty 5.00, 2026-02-11 to 2026-02-20: paid at the branch on Feb 10" in lines
    assert any(x.startswith("finding 1: verify: ") and x.endswith(": clean") for x in lines)
    assert "decision: partly_upheld: receipt 88213" in lines
    assert "  remedy: waive the penalty (5.00)" in lines
    assert "closed: waived" in lines
    report = dana("audit", "report", "DANA-7")
    assert "## Dispute cases" in report.out and "receipt 88213" in report.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "DANA-7", "--charge", "fee", "--amount", "1,50"], "--amount"),
        (["open", "DANA-7", "--charge", "insurance"], "--charge"),
        (["open", "NOBODY", *OPEN_CASE[3:]], "unknown loan NOBODY"),
        ([*OPEN_CASE[1:8], "2026-02-21", *OPEN_CASE[9:]], "after to"),
        (["attach", "DSP-000001"], "exactly one of"),
        (["attach", "DSP-000001", "--verify", "--explain", "credit"], "exactly one of"),
        (["attach", "DSP-000001", "--what-if", "penalty_multiplier"], "TERM=VALUE"),
        (["attach", "DSP-000001", "--what-if", "colour=red"], "not a term"),
        (["attach", "DSP-000001", "--explain", "happiness"], "not a figure"),
        (["attach", "DSP-000009", "--verify"], "unknown dispute DSP-000009"),
        (["attach", "<b>", "--verify"], "dispute id"),
        (["decide", "DSP-000001", "--outcome", "upheld", "--reason", "r"], "remedy"),
        (["decide", "DSP-000001", "--outcome", "rejected", "--reason", " "], "--reason"),
        (["close", "DSP-000001", "--note", "too early"], "not decided yet"),
    ],
)
def test_a_refused_command_is_one_line_and_writes_nothing(
    dana: Ledger, args: list[str], message: str
) -> None:
    dana.ok(*OPEN_CASE)
    before = dana.event_count()
    result = dana("dispute", *args)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert message in result.err
    assert dana.event_count() == before


def test_a_second_decision_and_anything_after_closing_are_refused(dana: Ledger) -> None:
    dana.ok(*OPEN_CASE)
    dana.ok("dispute", "decide", "DSP-000001", "--outcome", "rejected", "--reason", "contract")
    before = dana.event_count()
    again = dana("dispute", "decide", "DSP-000001", "--outcome", "rejected", "--reason", "x")
    assert again.code == 2 and "already decided (rejected)" in again.err
    assert dana.event_count() == before
    dana.ok("dispute", "close", "DSP-000001", "--note", "told the borrower")
    before = dana.event_count()
    for args in (["attach", "DSP-000001", "--verify"], ["close", "DSP-000001", "--note", "x"]):
        result = dana("dispute", *args)
        assert result.code == 2 and ("is closed" in result.err or "already closed" in result.err)
    assert dana.event_count() == before


def test_cases_are_listed_by_loan_and_status(dana: Ledger) -> None:
    for _ in range(3):
        dana.ok(*OPEN_CASE)
    dana.ok("dispute", "decide", "DSP-000002", "--outcome", "rejected", "--reason", "r")
    listed = dana.ok("dispute", "list", "--loan", "DANA-7")
    assert [r["dispute_id"] for r in listed["disputes"]] == [f"DSP-00000{n}" for n in (1, 2, 3)]
    decided = dana.ok("dispute", "list", "--status", "decided")["disputes"]
    assert [(r["dispute_id"], r["outcome"]) for r in decided] == [("DSP-000002", "rejected")]
    assert dana.ok("dispute", "list", "--status", "closed") == {"disputes": [], "total": 0}
    table = dana("dispute", "list", "--status", "open")
    assert "DSP-000001" in table.out and "DSP-000002" not in table.out
    assert "unknown loan NOBODY" in dana("dispute", "list", "--loan", "NOBODY").err


def test_help_names_what_to_type(dana: Ledger) -> None:
    for command, shown in (
        (
            "open",
            ["LOAN_ID", "--amount AMOUNT", "--from DATE", "--claim CLAIM", "--channel-ref REF"],
        ),
        ("attach", ["DISPUTE_ID", "--what-if TERM=VALUE", "--explain FIGURE", "--note NOTE"]),
        ("decide", ["--outcome [upheld|partly_upheld|rejected]", "--reason REASON"]),
        ("list", ["--loan LOAN_ID", "--status [open|decided|closed]"]),
    ):
        help_text = dana("dispute", command, "--help").out
        for text in shown:
            assert text in help_text, (command, text)
