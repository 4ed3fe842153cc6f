"""Accounting through the CLI and the HTTP API (issue 16), on SQLite and PostgreSQL: a loan's
postings with the event and rule behind each, the trial balance, the tie-out, a difference
named, the chart of accounts checked."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from projections import Projections
from tests.conftest import Ledger
from tests.interface.test_api import assert_problem, serve

# 1,000.00 over 3 months at 0.05 % a day from 2026-01-15 (section 8's loan), paid on time
OPEN = ["loan", "open", "--product", "repay_on_schedule", "--principal", "1000.00",
        "--term", "3", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005"]  # fmt: skip


@pytest.fixture(autouse=True)
def business_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-12-01")


def lines_of(postings: list[dict[str, Any]], version: int) -> dict[str, tuple[Any, Any]]:
    return {p["account"]: (p["debit"], p["credit"]) for p in postings if p["version"] == version}


def test_a_loans_postings_name_their_event_and_rule_and_balance(ledger: Ledger) -> None:
    """The disbursement: principal not yet due 1,000.00 against the gateway's clearing
    account. Day 1: 1,000.00 x 0.0005 = 0.50 accrued: interest receivable against interest
    income. The first installment (2026-02-15) fixes 31 days' 15.50 of interest: accrued
    becomes due, no income; the deduction pays it from the clearing account."""
    ledger.ok(*OPEN, "--loan-id", "AC1")
    ledger.ok("close-day", "--through", "2026-02-15")
    postings = ledger.ok("accounting", "postings", "AC1")["postings"]
    assert lines_of(postings, 1) == {
        "Assets:Loans:Principal:NotDue": ("1000.00", None),
        "Assets:Gateway:Clearing": (None, "1000.00"),
    }
    assert lines_of(postings, 2) == {
        "Assets:Loans:Interest:Accrued": ("0.50", None),
        "Income:Loans:Interest": (None, "0.50"),
    }
    fell_due = next(p for p in postings if p["event"] == "InstallmentFellDue")
    assert fell_due["rule"].startswith("§5")
    due = lines_of(postings, fell_due["version"])
    assert due["Assets:Loans:Interest:Due"] == ("15.50", None)
    assert due["Assets:Loans:Interest:Accrued"] == (None, "15.50")
    assert "Income:Loans:Interest" not in due
    by_version: dict[int, int] = {}
    for p in postings:
        amount = round(float(p["debit"] or 0) * 100) - round(float(p["credit"] or 0) * 100)
        by_version[p["version"]] = by_version.get(p["version"], 0) + amount
    assert set(by_version.values()) == {0}


def test_the_trial_balance_balances_and_the_tie_out_holds(ledger: Ledger) -> None:
    ledger.ok(*OPEN, "--loan-id", "AC2")
    ledger.ok(*OPEN, "--loan-id", "AC3")
    ledger.ok("bank", "set-balance", "AC3", "0.00")
    ledger.ok("close-day", "--through", "2026-03-20")
    trial = ledger.ok("accounting", "trial-balance")
    assert trial["balanced"] is True and trial["debits"] == trial["credits"]
    names = [row["account"] for row in trial["accounts"]]
    assert "Assets:Loans:Penalty" in names and "Income:Loans:Penalty" in names
    by_product = ledger.ok("accounting", "trial-balance", "--by", "product")
    assert {row["product"] for row in by_product["accounts"]} == {"repay_on_schedule"}
    tied = ledger.ok("accounting", "tie-out")
    assert tied["holds"] is True and tied["loans"] == 2
    earlier = ledger.ok("accounting", "tie-out", "--as-of", "2026-02-20")
    assert earlier["holds"] is True
    principal = next(c for c in earlier["controls"] if c["control"] == "principal")
    shown = [ledger.ok("loan", "show", r, "--as-of", "2026-02-20") for r in ("AC2", "AC3")]
    total = sum(round(float(s["principal_outstanding"]) * 100) for s in shown)
    assert round(float(principal["journal"]) * 100) == total


def test_a_difference_exits_1_and_names_the_loan_and_the_events(
    ledger: Ledger, app: LedgerApp
) -> None:
    """A posting changed in the journal's table (as a broken projection would leave it)."""
    ledger.ok(*OPEN, "--loan-id", "AC4")
    ledger.ok("close-day", "--through", "2026-01-20")
    projections = Projections(app)
    projections.catch_up()
    journal = projections.journal
    with journal.sql.transaction() as c:
        c.execute(
            f"UPDATE {journal.t} SET amount = amount + 1 "
            "WHERE account = 'interest_accrued' AND version = 3"
        )
    result = ledger("accounting", "tie-out", "--json")
    assert result.code == 1
    found = json.loads(result.out)
    (difference,) = found["differences"]
    assert (difference["loan_id"], difference["control"]) == ("AC4", "interest_accrued")
    assert 3 in difference["events"] and difference["difference"] == "0.01"
    assert ledger.ok("accounting", "trial-balance")["balanced"] is False


def test_a_bad_chart_of_accounts_is_refused_on_one_line(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = tmp_path / "chart.json"
    ledger.ok(*OPEN, "--loan-id", "AC5")
    for given, needle in [
        ({"cash": "Liabilities:Cash"}, "must be under Assets"),
        ({"nope": "Assets:X"}, "unknown account key"),
        ({"cash": "assets:lower"}, "not an account name"),
        ({"cash": "Assets:Loans:Penalty"}, "same name"),
    ]:
        chart.write_text(json.dumps(given))
        monkeypatch.setenv("LEDGER_CHART_OF_ACCOUNTS", str(chart))
        result = ledger("accounting", "trial-balance", "--json")
        assert result.code == 2 and needle in result.err and result.err.count("\n") == 1
    chart.write_text(json.dumps({"cash": "Assets:Bank:Settlement"}))
    names = [r["account"] for r in ledger.ok("accounting", "trial-balance")["accounts"]]
    assert "Assets:Bank:Settlement" in names


def test_http_serves_the_same_reads_to_an_auditor(app: LedgerApp, ledger: Ledger) -> None:
    ledger.ok(*OPEN, "--loan-id", "AC6")
    ledger.ok("close-day", "--through", "2026-02-16")
    for api in serve(app):
        trial = api.client.get("/accounting/trial-balance", headers=api.auditor)
        assert trial.status_code == 200 and trial.json()["balanced"] is True
        assert trial.json() == ledger.ok("accounting", "trial-balance")
        tied = api.client.get("/accounting/tie-out?as_of=2026-02-01", headers=api.auditor)
        assert tied.status_code == 200 and tied.json()["holds"] is True
        postings = api.client.get("/accounting/postings/AC6", headers=api.auditor)
        assert postings.json() == ledger.ok("accounting", "postings", "AC6")
        assert_problem(api.client.get("/accounting/trial-balance"), 401, "API key")
        assert_problem(
            api.client.get("/accounting/postings/NOPE", headers=api.auditor), 404, "NOPE"
        )
        bad = api.client.get("/accounting/tie-out?as_of=2026-13-01", headers=api.auditor)
        assert bad.status_code == 422


def test_the_audit_page_links_the_loans_postings(app: LedgerApp, ledger: Ledger) -> None:
    from tests.interface.test_ui_pages import serve_pages, text_of

    ledger.ok(*OPEN, "--loan-id", "AC7")
    ledger.ok("close-day", "--through", "2026-01-16")
    for pages in serve_pages(app):
        assert pages.sign_in().status_code == 303
        assert "href='/ui/loans/AC7/postings'" in text_of(pages.get("/ui/loans/AC7"))
        page = text_of(pages.get("/ui/loans/AC7/postings"))
        assert "Assets:Loans:Principal:NotDue" in page and "§1 principal paid out" in page
        assert pages.get("/ui/loans/NOPE/postings").status_code == 404


def test_a_bank_installments_fees_and_payoff_as_postings(ledger: Ledger) -> None:
    """Section 13's example (6,000.00 over 6, f 0.006, prepayment fee 1 %): each installment's
    36.00 fee is a receivable against handling-fee income when it falls due; the payoff on
    2026-03-20 charges the 4 fees not yet due (144.00, cash against income: the payoff pays
    them in the same unit of work), then 4,000.00 of principal and the 40.00 fee: 4,184.00 in
    through the clearing account."""
    ledger.ok("loan", "open", "--product", "bank_installment", "--principal", "6000.00",
              "--term", "6", "--disbursed-on", "2026-01-15", "--fee-rate-per-period", "0.006",
              "--prepayment-fee-rate", "0.01", "--loan-id", "BANK")  # fmt: skip
    ledger.ok("close-day", "--through", "2026-03-19")
    ledger.ok("loan", "prepay", "BANK", "--on", "2026-03-20", "--full")
    postings = ledger.ok("accounting", "postings", "BANK")["postings"]
    fee = next(p for p in postings if p["event"] == "HandlingFeeFellDue")
    assert lines_of(postings, fee["version"]) == {
        "Assets:Loans:HandlingFee": ("36.00", None),
        "Income:Loans:HandlingFee": (None, "36.00"),
    }
    assessed = next(p for p in postings if p["event"] == "RemainingFeesAssessed")
    assert lines_of(postings, assessed["version"]) == {
        "Assets:Gateway:Clearing": ("144.00", None),
        "Income:Loans:HandlingFee": (None, "144.00"),
    }
    prepaid = next(p for p in postings if p["event"] == "Prepaid")
    assert lines_of(postings, prepaid["version"]) == {
        "Assets:Gateway:Clearing": ("4040.00", None),
        "Assets:Loans:Principal:NotDue": (None, "4000.00"),
        "Income:Loans:PrepaymentFee": (None, "40.00"),
    }
    assert ledger.ok("accounting", "tie-out")["holds"] is True


def test_the_journal_exports_as_beancount_that_bean_check_accepts_and_as_csv(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.ok(*OPEN, "--loan-id", "EX1")
    ledger.ok("close-day", "--through", "2026-02-20")
    out = tmp_path / "journal.beancount"
    written = ledger("export", "journal", "--format", "beancount", "--out", str(out))
    assert written.code == 0 and "exported" in written.err
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "bean-check"), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = out.read_text()
    assert '2026-01-15 * "EX1" "Disbursed: §1 principal paid out"' in text
    assert "  Assets:Loans:Principal:NotDue  1000.00 CNY" in text
    rows = list(csv.DictReader(io.StringIO(ledger("export", "journal", "--format", "csv").out)))
    trial = ledger.ok("accounting", "trial-balance")
    assert sum(Decimal(r["debit"] or 0) for r in rows) == Decimal(trial["debits"])
    early = ledger("export", "journal", "--format", "json", "--as-of", "2026-01-15")
    assert {r["event"] for r in json.loads(early.out)["rows"]} == {"Disbursed", "InterestAccrued"}
    refused = ledger("export", "balances", "--format", "beancount")
    assert refused.code == 2 and refused.err.count("\n") == 1


def test_http_exports_the_journal_as_beancount(app: LedgerApp, ledger: Ledger) -> None:
    ledger.ok(*OPEN, "--loan-id", "EX2")
    ledger.ok("close-day", "--through", "2026-01-20")
    for api in serve(app):
        answer = api.client.get("/exports/journal?format=beancount", headers=api.auditor)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert "journal-current.beancount" in answer.headers["content-disposition"]
        assert 'option "operating_currency" "CNY"' in answer.text
