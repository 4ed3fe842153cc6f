"""Penalty interest and compound interest (loan-rules section 11, issue 15 part 3), on SQLite and
PostgreSQL, through the CLI's JSON: a loan that names ``compound_multiplier`` charges penalty on
its overdue principal and compound interest on its overdue interest, each rounded on its own
per installment and shown as its own figure; a loan that does not keeps one penalty."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.read.event_summary import summaries
from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_api import serve
from tests.interface.test_edge_cli import assert_refused

# The loan of section 8 example 5: 1,000.00 equal_principal over 2 months at 0.05 %/day.
OPEN = ["loan", "open", "--product", "equal_principal", "--principal", "1000.00", "--term", "2",
        "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005"]  # fmt: skip


@pytest.fixture(autouse=True)
def business_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-12-01")


def overdue_through_april_5(ledger: Ledger, ref: str, *terms: str) -> dict[str, Any]:
    """Open the loan, leave its account empty (every deduction fails) and close the days
    through 2026-04-05; installment 1 (due 2026-04-01) is overdue from 2026-04-02."""
    ledger.ok(*OPEN, *terms, "--loan-id", ref)
    ledger.ok("bank", "set-balance", ref, "0.00")
    ledger.ok("close-day", "--through", "2026-04-05")
    shown: dict[str, Any] = ledger.ok("loan", "show", ref)
    return shown


def test_section_11_example_penalty_and_compound_interest_apart(ledger: Ledger) -> None:
    """Installment 1 is 500.00 of principal and 31 x 1,000.00 x 0.0005 = 15.50 of interest,
    overdue from 2026-04-02. Each day of 2026-04-02..05 (4 days) adds penalty
    500.00 x 0.0005 x 1.5 = 0.375 and compound interest 15.50 x 0.0005 x 1.5 = 0.011625:
    penalty 4 x 0.375 = 1.5 (1.50), compound 4 x 0.011625 = 0.0465 (0.05), 1.55 in all, as
    the one penalty of section 4 rounds 1.5465. Amount due 500.00 + 15.50 + 1.50 + 0.05."""
    shown = overdue_through_april_5(ledger, "CI15", "--compound-multiplier", "1.5")
    assert (shown["penalty_accrued"], shown["compound_accrued"]) == ("1.50", "0.05")
    assert shown["amount_due"] == "517.05"
    assert shown["overdue_amount"] == "515.50"
    keys = list(shown)
    assert keys.index("compound_accrued") == keys.index("penalty_accrued") + 1
    # the day's accrual records both parts with their inputs
    events = ledger.ok("loan", "events", "CI15")
    accrued = [e["data"] for e in events if e["type"] == "InterestAccrued"]
    entry = accrued[-1]["penalties"][0]
    assert (entry["principal_base"], entry["interest_base"]) == ("500.00", "15.50")
    assert (entry["penalty"], entry["compound"], entry["amount"]) == (
        "0.375",
        "0.011625",
        "0.386625",
    )
    assert ledger.ok("audit", "verify", "CI15")["clean"] is True


def test_explain_gives_compound_interest_its_own_lines(ledger: Ledger) -> None:
    """The four days' compound interest 0.011625 each add up to round(0.0465) = 0.05 (§11),
    the penalty's 0.375 each to 1.50, apart."""
    overdue_through_april_5(ledger, "CIX", "--compound-multiplier", "1.5")
    explained = ledger.ok("loan", "explain", "CIX")
    assert explained["adds_up"] is True
    compound = explained["figures"]["compound_accrued"]
    assert (compound["figure"], compound["sum_of_parts"]) == ("0.05", "0.05")
    assert [line["amount"] for line in compound["lines"]] == ["0.011625"] * 4
    penalty = explained["figures"]["penalty_accrued"]
    assert [line["amount"] for line in penalty["lines"]] == ["0.375"] * 4
    assert explained["unsettled_installments"][0]["compound"] == (
        "round_half_up(0.0465) - paid 0.00 = 0.05 (§11)"
    )


def test_with_compound_multiplier_one_the_compound_interest_is_0_03(ledger: Ledger) -> None:
    """Compound interest 4 x 15.50 x 0.0005 x 1.0 = 0.031, rounded 0.03; penalty still
    4 x 500.00 x 0.0005 x 1.5 = 1.50."""
    shown = overdue_through_april_5(ledger, "CI10", "--compound-multiplier", "1.0")
    assert (shown["penalty_accrued"], shown["compound_accrued"]) == ("1.50", "0.03")
    assert shown["amount_due"] == "517.03"
    assert ledger.ok("audit", "verify", "CI10")["clean"] is True


def test_a_repayment_pays_penalty_then_compound_then_interest_then_principal(
    ledger: Ledger,
) -> None:
    """2026-04-06 (5 days overdue): penalty 5 x 0.375 = 1.875 (1.88), compound 5 x 0.011625
    = 0.058125 (0.06). A repayment of 1.90 pays the penalty 1.88 and 0.02 of the compound
    interest; 0.04 of it is still owed and nothing of the interest is paid."""
    overdue_through_april_5(ledger, "CIPAY", "--compound-multiplier", "1.5")
    ledger.ok("close-day", "--through", "2026-04-06")
    paid = ledger.ok("loan", "repay", "CIPAY", "1.90", "--on", "2026-04-07")
    assert paid["allocations"][0] == {
        "k": 1,
        "penalty": "1.88",
        "compound": "0.02",
        "interest": "0.00",
        "principal": "0.00",
        "total": "1.90",
    }
    shown = ledger.ok("loan", "show", "CIPAY")
    assert (shown["penalty_accrued"], shown["compound_accrued"]) == ("0.00", "0.04")
    assert ledger.ok("audit", "verify", "CIPAY")["clean"] is True


def test_without_the_term_one_penalty_as_before(ledger: Ledger) -> None:
    """No ``compound_multiplier`` in the recorded terms (loans recorded before it read and hash
    as they were written) and one penalty, round(4 x 515.50 x 0.0005 x 1.5 = 1.5465) = 1.55,
    with no ``compound_accrued`` figure."""
    shown = overdue_through_april_5(ledger, "PLAIN")
    assert shown["penalty_accrued"] == "1.55"
    assert shown["amount_due"] == "517.05"
    assert "compound_accrued" not in shown
    app = LedgerApp.from_url(ledger.db_url)
    try:
        recorded = app.loan_events("PLAIN")
        assert "compound_multiplier" not in recorded[0].terms
        accrued = [e for e in recorded if type(e).__name__ == "InterestAccrued"]
        assert set(accrued[-1].penalties[0]) == {"k", "base", "amount"}
    finally:
        app.close()


@pytest.mark.parametrize(
    ("value", "needle"),
    [("1,5", "1,5"), ("11", "compound_multiplier"), ("-1", "greater than or equal to 0")],
)
def test_a_bad_compound_multiplier_is_refused_and_writes_nothing(
    ledger: Ledger, value: str, needle: str
) -> None:
    args = [*OPEN, "--compound-multiplier", value, "--loan-id", "BAD"]
    assert_refused(ledger, args, needle)


def test_what_if_without_the_split_shows_the_one_penalty(ledger: Ledger) -> None:
    """The what-if's charged penalty of a split loan is penalty and compound interest, each
    rounded (1.50 + 0.03 with compound_multiplier 1.0); under compound_multiplier 1.5 it would
    have been 1.50 + 0.05."""
    overdue_through_april_5(ledger, "CIW", "--compound-multiplier", "1.0")
    answer = ledger.ok("audit", "what-if", "CIW", "--set", "compound_multiplier=1.5")
    total = answer["total"]
    assert (total["charged"]["penalty"], total["would_have_been"]["penalty"]) == ("1.53", "1.55")


def test_post_loans_takes_compound_multiplier_and_get_shows_compound_accrued(
    app: LedgerApp,
) -> None:
    """Over HTTP: the section 11 example opened with ``compound_multiplier`` "1.5"; after
    2026-04-05 the balances row shows penalty 1.50 and compound interest 0.05 apart."""
    body = {"loan_id": "HTTP11", "product": "equal_principal", "principal": "1000.00",
            "term": 2, "disbursed_on": "2026-03-01", "daily_rate": "0.0005",
            "compound_multiplier": "1.5"}  # fmt: skip
    for api in serve(app):
        opened = api.post("/loans", body)
        assert opened.status_code == 201, opened.text
        assert opened.json()["compound_accrued"] == "0.00"
        app.set_balance("HTTP11", Decimal(0))
        app.close_days(date(2026, 4, 5))
        shown = api.get("/loans/HTTP11").json()
        assert (shown["penalty_accrued"], shown["compound_accrued"]) == ("1.50", "0.05")


def test_a_split_loans_statement_counts_compound_interest_with_its_penalty_and_closes(
    ledger: Ledger,
) -> None:
    """The statement of cycle 2026-05 (2026-04-02..05-01) of the split loan: the charges added
    (penalty and compound interest) and paid are counted in its penalty figures, so
    ``closing = opening + interest + penalty - paid`` and the closing balance is what
    ``loan show`` says is due at the cycle's end (its amount_due, compound interest in it)."""
    overdue_through_april_5(ledger, "ST", "--compound-multiplier", "1.0")
    ledger.ok("loan", "repay", "ST", "200.00", "--on", "2026-04-06")
    ledger.ok("close-day", "--through", "2026-05-01")
    statements = ledger.ok("loan", "statement", "ST")
    second = next(s for s in statements if s["month"] == "2026-05")
    flows = Decimal(second["opening_balance"]) + Decimal(second["interest"])
    flows += Decimal(second["penalty"]) - Decimal(second["paid_total"])
    assert flows == Decimal(second["closing_balance"])
    shown = ledger.ok("loan", "show", "ST", "--as-of", "2026-05-01")
    assert second["closing_balance"] == shown["amount_due"]
    assert second["repaid_penalty"] == "1.53"  # the 200.00 paid penalty 1.50, compound 0.03


def test_a_split_loans_schedule_counts_compound_interest_with_its_penalty(ledger: Ledger) -> None:
    """Installment 1 of the loan above through 2026-04-05: penalty 1.50 and compound 0.05 are
    the schedule's penalty 1.55 (both rounded apart); the 200.00 repayment pays 1.55 of it."""
    overdue_through_april_5(ledger, "SC", "--compound-multiplier", "1.5")
    first = ledger.ok("loan", "schedule", "SC")[0]
    assert first["penalty"] == "1.55"
    ledger.ok("loan", "repay", "SC", "200.00", "--on", "2026-04-06")
    first = ledger.ok("loan", "schedule", "SC")[0]
    assert (first["penalty"], first["paid_penalty"], first["paid"]) == ("1.55", "1.55", "200.00")


def test_compound_interest_still_owed_can_be_waived_and_the_statement_still_closes(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through 2026-04-05 installment 1 owes compound interest 0.05 (see above): a waiver of
    0.05 forgives it (compound_accrued 0.00, amount due 517.05 - 0.05 = 517.00); 0.01 more is
    refused (nothing owed, and paid compound interest is not given back); a loan opened
    without the term has no compound interest to waive."""
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "100.00")  # one person (test_approvals_cli)
    ledger.ok(*OPEN, "--loan-id", "NOSPLIT")
    overdue_through_april_5(ledger, "WV", "--compound-multiplier", "1.5")
    waived = ledger.ok("loan", "waive", "WV", "--compound", "0.05", "--on", "2026-04-06",
                       "--reason", "compound interest disputed")  # fmt: skip
    assert (waived["forgiven"], waived["credited"]) == ("0.05", "0.00")
    assert waived["approval"]["what"] == "waive 0.05 of the compound interest"
    shown = ledger.ok("loan", "show", "WV")
    assert (shown["compound_accrued"], shown["penalty_accrued"]) == ("0.00", "1.50")
    assert shown["amount_due"] == "517.00"
    assert_refused(ledger, ["loan", "waive", "WV", "--compound", "0.01", "--reason", "x"],
                   "cannot waive 0.01 of compound interest: 0.00 is owed")  # fmt: skip
    assert ledger.ok("audit", "verify", "WV")["clean"] is True
    ledger.ok("close-day", "--through", "2026-05-01")
    for statement in ledger.ok("loan", "statement", "WV"):
        flows = Decimal(statement["opening_balance"]) + Decimal(statement["disbursed"])
        flows += Decimal(statement["interest"]) + Decimal(statement["penalty"])
        flows -= Decimal(statement["paid_total"]) + Decimal(statement["waived"])
        assert flows == Decimal(statement["closing_balance"]), statement["month"]
    assert_refused(ledger, ["loan", "waive", "NOSPLIT", "--compound", "0.01", "--reason", "x"],
                   "charges no compound interest apart")  # fmt: skip


def test_the_timeline_counts_compound_interest_in_its_penalty_column(ledger: Ledger) -> None:
    """On the audit page's timeline (and ``ledger loan events``) a split loan's payment adds
    up: its penalty column holds penalty 1.50 and compound interest 0.05 (1.55), and a
    compound waiver shows there too."""
    overdue_through_april_5(ledger, "TL", "--compound-multiplier", "1.5")
    ledger.ok("loan", "repay", "TL", "100.00", "--on", "2026-04-06")
    app = LedgerApp.from_url(ledger.db_url)
    try:
        repaid = next(s for s in summaries(app.loan_events("TL")) if s.event == "Repaid")
    finally:
        app.close()
    assert repaid.part("penalty") == Decimal("1.55")
    assert sum(value for _, value in repaid.parts) == Decimal("100.00")
