"""The payment gateway on the command line (loan-rules §17), on SQLite and PostgreSQL: with
``$LEDGER_GATEWAY_DELAY_DAYS=1`` the morning requests what is due; ``ledger gateway poll``
records the simulated bank's results (a bounce too), a settlement file is imported once
however often it is given, ``reconcile`` exits 1 on a planted difference, and every bad
input is refused on one line with no event written.

The loans: 12,000.00 (BOB) and 6,000.00 (ANN) over 6 months from 2026-01-15 at 0.05 % a day;
installment 1 (2,106.30 and 1,053.15) falls due on 2026-02-15."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused
from tests.interface.test_remedies_cli import assert_verified_clean

HEADER = "result_id,request_id,status,amount,taken_on\n"


@pytest.fixture
def book(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("LEDGER_TODAY", "2026-03-01")
    monkeypatch.setenv("LEDGER_GATEWAY_DELAY_DAYS", "1")
    for name, principal in (("BOB", "12000.00"), ("ANN", "6000.00")):
        ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", principal,
                  "--term", "6", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
                  "--loan-id", name)  # fmt: skip
    ledger.ok("close-day", "--through", "2026-02-15")
    return ledger


def requests(book: Ledger) -> dict[str, Any]:
    """The pending requests by their amount: 2106.30 is BOB's, 1053.15 ANN's."""
    return {p["requested"]: p["request_id"] for p in book.ok("gateway", "pending")["pending"]}


def settlement(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "settlement.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def test_the_simulated_bank_answers_a_day_later_and_a_bounce_leaves_the_loan_overdue(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    book.ok("bank", "set-balance", "ANN", "0.00")  # ANN's account is empty: a bounce
    assert book.ok("gateway", "poll", "--through", "2026-02-15")["results"] == []  # not yet
    polled = book.ok("gateway", "poll", "--through", "2026-02-16")
    outcome = {r["loan"]: (r["status"], r["collected"]) for r in polled["results"]}
    assert outcome == {"BOB": ("settled", "2106.30"), "ANN": ("bounced", "0.00")}
    bob, ann = book.ok("loan", "show", "BOB"), book.ok("loan", "show", "ANN")
    assert (bob["status"], bob["principal_repaid"], bob["overdue_amount"]) == (
        "active",
        "1920.30",
        "0.00",
    )
    assert (ann["status"], ann["overdue_amount"]) == ("overdue", "1053.15")
    assert book.ok("gateway", "pending")["pending"] == []
    book.ok("close-day", "--through", "2026-02-20")  # ANN is requested again the next morning
    assert list(requests(book)) == ["1053.15"]  # the morning of 02-16, before any penalty
    for name in ("BOB", "ANN"):
        assert_verified_clean(book, name)


def test_a_settlement_file_is_recorded_once_however_often_it_is_imported(
    book: Ledger, tmp_path: Path
) -> None:
    asked = requests(book)
    path = settlement(
        tmp_path,
        f"F-1,{asked['2106.30']},settled,2106.30,2026-02-15",
        f"F-2,{asked['1053.15']},partly_settled,1000.00,",
    )
    first = book.ok("gateway", "import", path)
    assert (first["recorded"], first["already"]) == (2, 0)
    count = book.event_count()
    again = book.ok("gateway", "import", path)
    assert (again["recorded"], again["already"]) == (0, 2)
    assert book.event_count() == count
    assert book.ok("loan", "show", "ANN")["overdue_amount"] == "53.15"
    clean = book("gateway", "reconcile", "--date", "2026-02-15", "--file", path)
    assert clean.code == 0, clean.err
    assert "no differences" in clean.out


def test_reconcile_exits_1_on_a_missing_and_a_duplicate_settlement(
    book: Ledger, tmp_path: Path
) -> None:
    asked = requests(book)
    book.ok("gateway", "result", asked["2106.30"], "--status", "settled", "--result-id", "R-1")
    provider = settlement(
        tmp_path,
        f"R-1,{asked['2106.30']},settled,2106.30,2026-02-15",
        f"R-1b,{asked['2106.30']},settled,2106.30,2026-02-15",
        f"R-2,{asked['1053.15']},settled,1053.15,2026-02-15",
    )
    answer = book("gateway", "reconcile", "--date", "2026-02-15", "--file", provider, "--json")
    assert answer.code == 1, answer.err
    found = {(d["kind"], d["request_id"]) for d in answer.json["differences"]}
    assert found == {("duplicate", asked["2106.30"]), ("missing_in_ledger", asked["1053.15"])}


def test_every_bad_result_or_file_is_refused_on_one_line_with_no_event(
    book: Ledger, tmp_path: Path
) -> None:
    asked = requests(book)
    bob = asked["2106.30"]
    result = ["gateway", "result", bob, "--result-id", "X"]
    assert_refused(book, [*result, "--status", "settled", "--amount", "2106.29"], "does not fit")
    assert_refused(book, [*result, "--status", "settled", "--amount", "1,50"], "--amount")
    assert_refused(book, [*result, "--status", "partly_settled"], "how much was taken")
    assert_refused(book, [*result, "--status", "lost"], "--status")
    assert_refused(book, ["gateway", "result", "nope", "--status", "bounced", "--result-id", "X"],
                   "not one of this ledger's")  # fmt: skip
    later = [*result, "--status", "settled", "--taken-on", "2026-03-05"]
    assert_refused(book, later, "not between")
    bad_line = settlement(tmp_path, f"G-1,{bob},settled,2106.30,", "G-2,x,settled,1.0.0,")
    assert_refused(book, ["gateway", "import", bad_line], "line 3", "amount")
    (tmp_path / "headless.csv").write_text(f"G-1,{bob},settled,2106.30,\n", encoding="utf-8")
    assert_refused(book, ["gateway", "import", str(tmp_path / "headless.csv")], "header")
    assert_refused(book, ["gateway", "import", str(tmp_path / "none.csv")], "cannot read")
    one_refused = settlement(
        tmp_path, f"G-1,{bob},settled,2106.30,", f"G-2,{asked['1053.15']},settled,1.00,"
    )
    assert_refused(book, ["gateway", "import", one_refused], "1 of 2 results refused")
    assert requests(book) == asked  # nothing recorded: both still await a result
    assert_refused(book, ["gateway", "reconcile", "--date", "2026-02-30"], "--date")
