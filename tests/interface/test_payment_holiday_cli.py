"""A payment holiday on the command line (loan-rules §16), on SQLite and PostgreSQL:
``--holiday K`` on ``ledger loan restructure``. ``--preview`` shows the moved installments and
the cost and writes nothing; the holiday is a four-eyes request a second person approves; the
moved installments fall due with nothing (the schedule marks them ``holiday``), the next one
charges the interest accrued over the holiday; ``audit verify`` replays it clean; what-if,
explain, the dispute report, ``loan events`` and the journal follow; a bad holiday is refused
on one line, exit 2, with no event written.

The loan, worked by hand (as in tests/unit/test_payment_holiday.py): RS, 12,000.00 over 12
months, equal principal, 0.05 % a day (monthly 0.015), from 2026-01-15, its account paying
every deduction. Installments 1 and 2 leave 10,000.00 not yet due. On 2026-03-20 a holiday of
2: installments 3 (2026-04-15) and 4 (2026-05-15) moved, the last installment 12 -> 14
(2027-03-15), principal step 10,000.00 / 10 = 1,000.00. Installment 5 (2026-06-15) is planned
1,000.00 + round(10,000.00 x 0.015 x 3) = 450.00 and falls due with 92 days (2026-03-15 to
06-14) x 10,000.00 x 0.0005 = 460.00 of interest.
"""

from __future__ import annotations

import pytest

from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused
from tests.interface.test_remedies_cli import assert_verified_clean
from tests.interface.test_restructure_cli import ASK, book

__all__ = ["book"]  # the fixture: RS paid through installment 2, closed through 2026-03-19


def test_a_holiday_preview_shows_the_moved_installments_and_the_cost_and_writes_nothing(
    book: Ledger,
) -> None:
    count = book.event_count()
    shown = book.ok(*ASK, "--holiday", "2", "--preview")
    assert book.event_count() == count
    assert (shown["written"], shown["kind"], shown["holiday"]) == (False, "payment_holiday", 2)
    assert (shown["last_k_before"], shown["last_k"], shown["principal_step"]) == (
        12, 14, "1000.00",
    )  # fmt: skip
    rows = {row["k"]: row for row in shown["plan"]}
    assert rows[3] == {
        "k": 3, "due_date": "2026-04-15",
        "old_principal": "1000.00", "old_interest": "150.00", "old_total": "1150.00",
        "new_principal": "0.00", "new_interest": "0.00", "new_total": "0.00",
    }  # fmt: skip
    assert (rows[5]["new_principal"], rows[5]["new_interest"]) == ("1000.00", "450.00")
    assert (rows[14]["due_date"], rows[14]["old_total"]) == ("2027-03-15", None)
    # the same principal over two more months, its interest charged: the cost is unchanged
    # to within rounding of the estimate, and the total grows by two months of interest
    assert shown["difference"] == "300.00"
    assert shown["old_cost"] is not None and shown["new_cost"] is not None
    table = book(*ASK, "--holiday", "2", "--preview")
    assert table.code == 0 and "nothing was written" in table.out
    assert book.event_count() == count


def test_a_holiday_waits_for_a_second_person_then_the_moved_installments_fall_due_empty(
    book: Ledger,
) -> None:
    asked = book.ok(*ASK, "--holiday", "2", "--reason", "hospital stay")
    assert asked["result"] is None and asked["approval"]["status"] == "pending"
    assert asked["approval"]["what"] == "restructure the loan: a payment holiday of 2 installments"
    assert asked["approval"]["amount"] == "10000.00"
    approved = book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    done = approved["result"]
    assert (done["kind"], done["holiday"], done["last_k"]) == ("payment_holiday", 2, 14)
    book.ok("close-day", "--through", "2026-06-15")
    schedule = {row["k"]: row for row in book.ok("loan", "schedule", "RS")}
    assert len(schedule) == 14 and schedule[14]["due_date"] == "2027-03-15"
    assert [schedule[k]["status"] for k in (3, 4, 5, 6)] == [
        "holiday",
        "holiday",
        "paid",
        "upcoming",
    ]
    assert (schedule[3]["principal"], schedule[3]["interest"]) == ("0.00", "0.00")
    assert (schedule[5]["principal"], schedule[5]["interest"]) == ("1000.00", "460.00")
    events = book.ok("loan", "events", "RS")
    fell_due = {e["data"]["k"]: e["data"] for e in events if e["type"] == "InstallmentFellDue"}
    assert (fell_due[3]["holiday"], fell_due[5]["planned_interest"]) == (True, "150.00")
    assert not {"holiday", "planned_interest"} & (set(fell_due[1]) | set(fell_due[2]))
    assert next(e["data"]["holiday"] for e in events if e["type"] == "Restructured") == 2
    assert_verified_clean(book, "RS")
    assert book.ok("audit", "what-if", "RS", "--set", "penalty_multiplier=2") is not None
    assert book.ok("loan", "explain", "RS")["adds_up"] is True
    report = book("audit", "report", "RS", "--format", "json")
    assert report.code == 0 and "payment holiday" in report.out
    assert book.ok("accounting", "tie-out")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--holiday", "0", "--reason", "r"], ("--holiday", "0")),
        (["--holiday", "13", "--reason", "r"], ("--holiday", "13")),
        (["--holiday", "2", "--term", "20", "--reason", "r"], ("not both",)),
        (["--holiday", "two", "--reason", "r"], ("--holiday",)),
    ],
)
def test_a_bad_holiday_is_refused_on_one_line_with_no_event(
    book: Ledger, args: list[str], needles: tuple[str, ...]
) -> None:
    assert_refused(book, [*ASK, *args], *needles)
    assert_refused(book, [*ASK, *args, "--preview"], *needles)


def test_a_closed_loan_takes_no_holiday_and_none_is_taken_during_one(book: Ledger) -> None:
    asked = book.ok(*ASK, "--holiday", "2", "--reason", "hospital stay")
    book.ok("approval", "approve", asked["approval"]["approval_id"], "--actor", "carol")
    book.ok("close-day", "--through", "2026-04-19")
    during = ["loan", "restructure", "RS", "--on", "2026-04-20", "--holiday", "1", "--reason", "r"]
    assert_refused(book, during, "installments up to #4 are a payment holiday")
    # 2026-03-15 to 04-19 (36 days) accrued over installment 3 of the holiday: 180.00
    explained = book.ok("loan", "explain", "RS")
    assert explained["adds_up"] is True
    assert book.ok("loan", "show", "RS")["interest_accrued"] == "180.00"
    book.ok("loan", "prepay", "RS", "--on", "2026-04-20", "--full")
    assert_refused(book, during, "is closed")
