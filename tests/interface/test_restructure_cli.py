"""Restructuring on the command line (loan-rules §16), on SQLite and PostgreSQL: ``--preview``
shows the old and new plan side by side and the cost of each and writes nothing; the
restructuring is a four-eyes request a second person approves; the loan then falls due as
re-planned, ``audit verify`` replays it clean, what-if and the journal follow; every bad input
is refused on one line, exit 2, with no event written.

The loan, worked by hand (as in tests/unit/test_restructure.py): RS, 12,000.00 over 12 months,
equal principal, 0.05 % a day (monthly 0.015), from 2026-01-15, its account paying every
deduction. Installments 1 and 2 leave 10,000.00 not yet due. On 2026-03-20 (the days through
03-19 closed) it is restructured to 22 installments at 0.04 % a day: 20 left, principal step
500.00, installment 3 planned 500.00 + 10,000.00 x 0.012 = 120.00 (620.00, was 1,000.00 +
150.00). It falls due on 2026-04-15 with 10,000.00 x 0.0005 x 5 + 10,000.00 x 0.0004 x 26 =
25.00 + 104.00 = 129.00 of interest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused
from tests.interface.test_remedies_cli import assert_verified_clean

ASK = ["loan", "restructure", "RS", "--on", "2026-03-20"]


@pytest.fixture
def book(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Ledger:
    """RS paid through its second installment, closed through 2026-03-19; carol approves."""
    monkeypatch.setenv("LEDGER_TODAY", "2026-07-01")
    monkeypatch.setenv("LEDGER_ACTOR", "collections-desk")
    monkeypatch.delenv("LEDGER_FOUR_EYES_BELOW", raising=False)
    roster = tmp_path / "keys.txt"
    made = ledger("api-key", "new", "carol", "--role", "approver", "--add-to", str(roster))
    assert made.code == 0, made.err
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(roster))
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "12000.00",
              "--term", "12", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "RS")  # fmt: skip
    ledger.ok("bank", "set-balance", "RS", "100000.00")
    ledger.ok("close-day", "--through", "2026-03-19")
    return ledger


def test_a_preview_shows_the_old_and_new_plan_and_cost_and_writes_nothing(book: Ledger) -> None:
    count = book.event_count()
    shown = book.ok(*ASK, "--term", "22", "--rate", "0.0004", "--preview")
    assert book.event_count() == count
    assert (shown["written"], shown["kind"], shown["fixed"]) == (False, "new_term_and_rate", 2)
    assert (shown["principal_not_due"], shown["last_k_before"], shown["last_k"]) == (
        "10000.00", 12, 22,
    )  # fmt: skip
    third = shown["plan"][0]
    assert third == {
        "k": 3, "due_date": "2026-04-15",
        "old_principal": "1000.00", "old_interest": "150.00", "old_total": "1150.00",
        "new_principal": "500.00", "new_interest": "120.00", "new_total": "620.00",
    }  # fmt: skip
    last = shown["plan"][-1]
    assert (last["k"], last["old_total"], last["new_principal"]) == (22, None, "500.00")
    assert len(shown["plan"]) == 20
    assert float(shown["new_cost"]) < float(shown["old_cost"])
    table = book("loan", "restructure", "RS", "--on", "2026-03-20", "--term", "22", "--preview")
    assert table.code == 0 and "nothing was written" in table.out
    assert book.event_count() == count


def test_a_restructuring_waits_for_a_second_person_then_the_loan_falls_due_as_re_planned(
    book: Ledger,
) -> None:
    count = book.event_count()
    asked = book.ok(*ASK, "--term", "22", "--rate", "0.0004", "--reason", "hardship")
    assert asked["result"] is None and asked["approval"]["status"] == "pending"
    assert asked["approval"]["what"] == "restructure the loan: term 22 and rate 0.0004"
    assert asked["approval"]["amount"] == "10000.00"
    assert book.event_count() == count + 1  # the request only
    refused = book("approval", "approve", asked["approval"]["approval_id"])
    assert refused.code == 2 and "only a person with the approver role" in refused.err
    approved = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    done = approved["result"]
    assert (done["emi_before"], done["principal_step"], done["rate"]) == (
        "1100.16", "500.00", "0.0004",  # 180.00 / (1 - 1.015 ** -12)
    )  # fmt: skip
    book.ok("close-day", "--through", "2026-04-15")
    schedule = book.ok("loan", "schedule", "RS")
    third = next(row for row in schedule if row["k"] == 3)
    assert (third["principal"], third["interest"]) == ("500.00", "129.00")
    assert len(schedule) == 22 and schedule[-1]["due_date"] == "2027-11-15"
    assert_verified_clean(book, "RS")
    what_if = book.ok("audit", "what-if", "RS", "--set", "penalty_multiplier=2")
    assert what_if is not None
    tie_out = book.ok("accounting", "tie-out")
    assert tie_out


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--term", "2", "--reason", "r"], ("installments 1 to 2 are already fixed",)),
        (["--term", "12", "--reason", "r"], ("already the term in force",)),
        (["--term", "361", "--reason", "r"], ("361",)),
        (["--rate", "0.02", "--reason", "r"], ("daily_rate", "0.000001 to 0.01")),
        (["--rate", "0.0005", "--reason", "r"], ("already the rate in force",)),
        (["--term", "20"], ("--reason",)),
        (["--reason", "r"], ("--term, --rate",)),
        (["--term", "20", "--reason", "r", "--on", "2026-03-10"], ("already closed",)),
    ],
)
def test_a_bad_restructuring_is_refused_on_one_line_with_no_event(
    book: Ledger, args: list[str], needles: tuple[str, ...]
) -> None:
    asked = [*ASK[:3], *args] if "--on" in args else [*ASK, *args]
    assert_refused(book, asked, *needles)
    if "--reason" in asked:  # a preview is refused as the command is
        assert_refused(book, [*asked, "--preview"], *needles)


def test_a_written_off_or_closed_loan_is_not_restructured(book: Ledger) -> None:
    book.ok("loan", "prepay", "RS", "--on", "2026-03-20", "--full")
    assert_refused(book, [*ASK, "--term", "20", "--reason", "r"], "is closed")
    assert_refused(book, [*ASK, "--term", "20", "--preview"], "is closed")


def test_a_correction_back_dated_before_the_restructuring_replays_it_and_verify_stays_clean(
    book: Ledger,
) -> None:
    asked = book.ok(*ASK, "--term", "22", "--rate", "0.0004", "--reason", "hardship")
    book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    book.ok("close-day", "--through", "2026-04-16")
    asked = book.ok("loan", "repay", "RS", "100.00", "--on", "2026-03-18", "--backdated",
                    "--reason", "late bank file")  # fmt: skip
    book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    shown = book.ok("loan", "show", "RS")
    assert (shown["principal_outstanding"], shown["next_due_amount"]) == ("9500.00", "614.00")
    assert_verified_clean(book, "RS")


def test_a_shorter_term_re_plans_over_fewer_installments_and_the_schedule_drops_the_rest(
    book: Ledger,
) -> None:
    """10,000.00 over installments 3 to 8: a step of round(10,000.00 / 6) = 1,666.67."""
    asked = book.ok(*ASK, "--term", "8", "--reason", "the borrower pays faster")
    done = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    assert (done["result"]["kind"], done["result"]["principal_step"]) == ("new_term", "1666.67")
    schedule = book.ok("loan", "schedule", "RS")
    statuses = {row["k"]: row["status"] for row in schedule}
    assert [statuses[k] for k in (8, 9, 12)] == ["upcoming", "restructured", "restructured"]
    assert next(row for row in schedule if row["k"] == 3)["planned_principal"] == "1666.67"
    assert_verified_clean(book, "RS")
