"""The journal, the trial balance and the tie-out (issue 16) on seeded random books, on SQLite
and PostgreSQL: every product, empty and short accounts (missed payments, penalties),
repayments, partial prepayments both ways, payoffs, back-dated repayments, reversals and
waivers, plus loans that split compound interest, count interest per transaction, or pay a
bank installment's handling fees. Every event's postings balance; the trial balance
balances; the control accounts tie out to the loans' balances at the end of every business
day of the book."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from beancount import loader
from beancount.core import data

from ledger.adapters.config import chart_of_accounts
from ledger.read import accounting
from ledger.read.exports import open_export
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from projections import Projections
from tests.store.test_agreement import book

SPECIAL = [
    {"product": "equal_principal", "compound_multiplier": "1.0"},
    {"product": "borrow_and_return", "interest_method": "per_transaction",
     "first_due_date": "2026-02-20"},
    {"product": "interest_first", "interest_method": "per_transaction"},
    {"product": "bank_installment", "fee_rate_per_period": "0.006"},
    {"product": "bank_installment", "fee_rate_per_period": "0.004", "remaining_fees": "waive"},
]  # fmt: skip


def special_loans(app: LedgerApp) -> None:
    """Loans of the terms the random books do not open, two of them on empty accounts."""
    for i, extra in enumerate(SPECIAL):
        rate = {} if extra["product"] == "bank_installment" else {"daily_rate": "0.0005"}
        terms = terms_from_input(
            principal="4000.00", term=12, disbursed_on=date(2026, 1, 5), **rate, **extra
        )
        app.open_loan(terms, f"S{i}")
        if i < 2:
            app.set_balance(f"S{i}", Decimal(0))


def test_every_entry_balances_and_the_controls_tie_out_every_day(
    app: LedgerApp, tmp_path: Path
) -> None:
    special_loans(app)
    refs = book(app, seed=301, loans=24, days=120)
    assert refs
    for ref in ("S3", "S4"):  # bank installments paid off: their remaining fees (section 13)
        app.prepay(ref, date(2026, 5, 1))
    # written off (section 14): S0 (compound interest apart, never paid), part recovered
    app.write_off("S0", on=date(2026, 5, 1), actor="collections", reason="uncollectable")
    app.recover("S0", Decimal("100.00"), on=date(2026, 5, 1), actor="collections", reason="paid")
    projections = Projections(app)
    projections.catch_up()
    sums = app_rows(
        projections,
        "SELECT loan_id, version, SUM(amount) AS total FROM {t} GROUP BY loan_id, version "
        "HAVING SUM(amount) <> 0",
    )
    assert sums == []
    names = chart_of_accounts()
    trial = accounting.trial_balance(projections, names)
    assert trial["balanced"], trial
    kinds = {row[0] for row in app_rows(projections, "SELECT DISTINCT event FROM {t}")}
    assert {"Disbursed", "InterestAccrued", "InstallmentFellDue", "InstallmentDeducted",
            "Repaid", "Prepaid", "Corrected", "HandlingFeeFellDue",
            "RemainingFeesAssessed", "WrittenOff", "Recovered"} <= kinds  # fmt: skip
    accounts = {row["key"] for row in trial["accounts"]}
    assert {"penalty", "compound", "income_prepayment_fee", "income_handling_fee",
            "written_off", "recoveries"} <= accounts  # fmt: skip
    assert any(key.startswith("waived_") for key in accounts)
    exported_balances_are_the_trial_balance(app, trial, tmp_path)
    now = accounting.tie_out(app, projections)
    assert now["holds"], now["differences"][:5]
    events = {str(r["loan_id"]): list(app.events.get(UUID(r["loan_id"])))
              for r in projections.balances.all()}  # fmt: skip
    day, last = date(2026, 1, 5), date(2026, 5, 1)
    while day <= last:
        result = accounting.tie_out(app, projections, as_of=day, events=events)
        assert result["holds"], (day, result["differences"][:5])
        assert accounting.trial_balance(projections, names, as_of=day)["balanced"]
        day += timedelta(days=1)


def app_rows(projections: Projections, query: str) -> list[tuple[object, ...]]:
    journal = projections.journal
    return [tuple(r) for r in journal.sql.query(query.format(t=journal.t))]


def exported(app: LedgerApp, fmt: str, **options: Any) -> str:
    return "".join(open_export(app, "journal", fmt, **options).chunks())


def exported_balances_are_the_trial_balance(
    app: LedgerApp, trial: dict[str, Any], tmp_path: Path
) -> None:
    """The Beancount export passes ``bean-check``, and Beancount's own balance of each account
    is the trial balance's; the CSV export has every posting, debits equal to credits."""
    path = tmp_path / "journal.beancount"
    path.write_text(exported(app, "beancount"))
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "bean-check"), str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units is not None and posting.units.number is not None
                balances[posting.account] += posting.units.number
    expected = {row["account"]: Decimal(row["balance"]) for row in trial["accounts"]}
    assert {a: b for a, b in balances.items() if b} == {a: b for a, b in expected.items() if b}
    early = date(2026, 1, 12)  # read in pages of 7 rows, or all at once: the same rows
    paged = open_export(app, "journal", "json", early, page=7)
    assert exported(app, "json", as_of=early) == "".join(paged.chunks()) and paged.pages > 2
    rows = list(csv.DictReader(io.StringIO(exported(app, "csv"))))
    debits = sum((Decimal(r["debit"]) for r in rows if r["debit"]), Decimal(0))
    credits = sum((Decimal(r["credit"]) for r in rows if r["credit"]), Decimal(0))
    assert debits == credits == Decimal(trial["debits"])
