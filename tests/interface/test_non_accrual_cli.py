"""Non-accrual on the command line and over HTTP (loan-rules §15), on SQLite and PostgreSQL:
with ``$LEDGER_NON_ACCRUAL_AFTER_DAYS=30`` a loan 30 days past due records
``NonAccrualStarted`` once; ``loan show`` keeps the contract's figures (those of the same loan
without the setting) and says ``non_accrual``; the journal credits what accrues after that
day to the suspense account, the trial balance balances and the tie-out holds; ``audit
verify`` is clean without the setting; a bad setting is refused on one line, exit 2, no event.

The loan: 12,000.00 over 12 months from 2026-01-15 at 0.05 % a day, its account empty, so
every deduction fails: installment 1 (due 2026-02-15) is overdue from 2026-02-16, 30 days
past due at the end of 2026-03-17.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.domain.business_day import run_through
from ledger.domain.loan import Loan
from ledger.read.views import loan_state
from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate
from ledger.services.products import terms_from_input
from ledger.services.store import loan_id_for
from tests.conftest import Ledger
from tests.interface.test_api import Api, serve
from tests.interface.test_edge_cli import assert_one_line_error
from tests.interface.test_remedies_cli import assert_verified_clean

SUSPENSE = "Liabilities:Loans:InterestSuspense"
STARTED = date(2026, 3, 17)


class NoMoney:
    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        return Decimal(0)


@pytest.fixture
def book(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """NA unpaid, closed through 2026-04-30 with the setting at 30 days."""
    monkeypatch.setenv("LEDGER_TODAY", "2026-07-01")
    monkeypatch.setenv("LEDGER_NON_ACCRUAL_AFTER_DAYS", "30")
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00",
              "--term", "12", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "NA")  # fmt: skip
    ledger.ok("bank", "set-balance", "NA", "0.00")
    ledger.ok("close-day", "--through", "2026-04-30")
    return ledger


def without_the_setting(through: date) -> dict[str, Any]:
    """``loan show`` of the same loan run without the setting (in memory)."""
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="12000.00",
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    loan = Loan.disburse(terms, loan_id=loan_id_for("NA"), reference="NA")
    run_through(loan, through, NoMoney(), None)
    return loan_state(loan)


def test_a_loan_30_days_past_due_records_non_accrual_started_once(book: Ledger) -> None:
    book.ok("close-day", "--through", "2026-05-20")
    events = book.ok("loan", "events", "NA")
    started = [e for e in events if e["type"] == "NonAccrualStarted"]
    assert len(started) == 1, started
    assert (started[0]["data"]["on"], started[0]["data"]["days_past_due"]) == ("2026-03-17", 30)
    assert started[0]["data"]["after_days"] == 30
    assert not any(e["type"] == "NonAccrualEnded" for e in events)


def test_loan_show_keeps_the_contract_figures_and_says_non_accrual(book: Ledger) -> None:
    shown = book.ok("loan", "show", "NA")
    assert (shown["non_accrual"], shown["non_accrual_since"]) == (True, "2026-03-17")
    same = without_the_setting(date(2026, 4, 30))
    assert "non_accrual" not in same
    assert {k: shown[k] for k in same} == same  # shown from the balances projection


def test_the_journal_suspends_what_accrues_after_that_day_and_ties_out(book: Ledger) -> None:
    postings = book.ok("accounting", "postings", "NA")["postings"]
    accrued = {p["version"] for p in postings if p["event"] == "InterestAccrued"}
    after = [p for p in postings if p["version"] in accrued and p["date"] > "2026-03-17"]
    assert after and not any(p["account"].startswith("Income:") for p in after)
    assert any(p["account"] == SUSPENSE and p["credit"] for p in after)
    trial = book.ok("accounting", "trial-balance")
    assert trial["balanced"] is True
    suspense = next(row for row in trial["accounts"] if row["account"] == SUSPENSE)
    assert Decimal(suspense["credit"]) > 0 and Decimal(suspense["debit"]) == 0
    assert book.ok("accounting", "tie-out")["holds"] is True


def test_verify_is_clean_without_the_setting(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_NON_ACCRUAL_AFTER_DAYS")
    assert_verified_clean(book, "NA")
    monkeypatch.setenv("LEDGER_NON_ACCRUAL_AFTER_DAYS", "5")
    assert_verified_clean(book, "NA")


@pytest.mark.parametrize("bad", ["ninety", "0", "-3", "90.5", "1e3"])
def test_a_bad_setting_is_refused_on_one_line_with_no_event(
    book: Ledger, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    before = book.event_count()
    monkeypatch.setenv("LEDGER_NON_ACCRUAL_AFTER_DAYS", bad)
    result = book("close-day", "--through", "2026-05-10", "--json")
    assert result.code == 2
    line = assert_one_line_error(result)
    assert "LEDGER_NON_ACCRUAL_AFTER_DAYS" in line
    monkeypatch.delenv("LEDGER_NON_ACCRUAL_AFTER_DAYS")
    assert book.event_count() == before


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    app.business_date = BusinessDate.from_env({"LEDGER_TODAY": "2026-06-30"})
    app.non_accrual_after = 30
    yield from serve(app)


def test_get_loan_shows_the_non_accrual_status(api: Api) -> None:
    loan = {"loan_id": "NH", "product": "repay_on_schedule", "principal": "12000.00",
            "term": 12, "disbursed_on": "2026-01-15", "daily_rate": "0.0005"}  # fmt: skip
    assert api.post("/loans", loan).status_code == 201
    api.app.set_balance("NH", Decimal(0))
    api.app.close_days(date(2026, 4, 30))
    shown = api.get("/loans/NH").json()
    assert (shown["non_accrual"], shown["non_accrual_since"]) == (True, "2026-03-17")
    assert shown["status"] == "overdue"


def test_section_15s_example_suspends_301_04_through_april(book: Ledger) -> None:
    """Section 15's example, through the trial balance: without the setting the journal would
    recognise 573.38 of interest (accrued 74.06 + due 499.32) and 111.40 of penalty; in
    non-accrual from 2026-03-17 it recognises 357.34 and 26.40, and holds 216.04 + 85.00 =
    301.04 in suspense. The receivables are the contract's, unchanged."""
    balances = {
        row["account"]: row["balance"] for row in book.ok("accounting", "trial-balance")["accounts"]
    }
    assert balances["Income:Loans:Interest"] == "-357.34"
    assert balances["Income:Loans:Penalty"] == "-26.40"
    assert balances["Liabilities:Loans:InterestSuspense"] == "-301.04"
    assert (balances["Assets:Loans:Interest:Accrued"], balances["Assets:Loans:Interest:Due"]) == (
        "74.06",
        "499.32",
    )
    assert balances["Assets:Loans:Penalty"] == "111.40"
