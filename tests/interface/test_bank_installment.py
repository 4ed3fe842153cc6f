"""Bank installment (loan-rules section 13, issue 15 part 4), on SQLite and PostgreSQL, through the
CLI's JSON: no interest, each installment round(P/n) of principal (the last takes the rest) plus a
handling fee round(P x f) paid before its principal; a full prepayment pays the remaining
principal, the fees of the installments not yet due (charged, or none when waived), the
prepayment fee and everything due and unpaid, and closes the loan.

The worked example, by hand: P = 6,000.00 over n = 6 months, disbursed 2026-01-15, f = 0.006,
prepayment_fee_rate 0.01.
- handling fee = round(6,000.00 x 0.006) = 36.00 per installment;
- principal = round(6,000.00 / 6) = 1,000.00 per installment; each installment 1,036.00, due
  2026-02-15, 03-15, 04-15, 05-15, 06-15, 07-15;
- installments 1 and 2 paid by the mornings' deductions; remaining principal 4,000.00;
- full prepayment on 2026-03-20, remaining_fees charge: 4,000.00 + 4 x 36.00 (installments 3..6)
  + round(0.01 x 4,000.00) = 40.00 + 0.00 due = 4,184.00;
- the same with remaining_fees waive: 4,000.00 + 0.00 + 40.00 + 0.00 = 4,040.00;
- installment 2 left unpaid (an empty account), charge: 1,036.00 due (fee 36.00, then principal
  1,000.00) + 4,000.00 + 144.00 + 40.00 = 5,220.00.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_api import serve
from tests.interface.test_edge_cli import assert_refused

OPEN = ["loan", "open", "--product", "bank_installment", "--principal", "6000.00", "--term", "6",
        "--disbursed-on", "2026-01-15", "--fee-rate-per-period", "0.006",
        "--prepayment-fee-rate", "0.01"]  # fmt: skip


@pytest.fixture(autouse=True)
def business_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-12-01")


def two_installments_paid(ledger: Ledger, ref: str, *terms: str) -> dict[str, Any]:
    """Open the loan and close the days through 2026-03-19: installments 1 and 2 are deducted
    from the linked account on their due dates."""
    opened: dict[str, Any] = ledger.ok(*OPEN, *terms, "--loan-id", ref)
    ledger.ok("close-day", "--through", "2026-03-19")
    return opened


def test_each_installment_is_one_sixth_of_the_principal_plus_a_handling_fee_of_36(
    ledger: Ledger,
) -> None:
    opened = two_installments_paid(ledger, "BI1")
    assert (opened["method"], opened["monthly_rate"]) == ("flat", "0")
    assert (opened["handling_fee"], opened["remaining_fees"]) == ("36.00", "charge")
    events = ledger.ok("loan", "events", "BI1")
    terms = events[0]["data"]["terms"]
    assert (terms["daily_rate"], terms["fee_rate_per_period"]) == ("0", "0.006")
    assert terms["remaining_fees"] == "charge"
    fees = [e["data"] for e in events if e["type"] == "HandlingFeeFellDue"]
    assert [(f["k"], f["principal"], f["fee_rate"], f["fee"]) for f in fees] == [
        (1, "6000.00", "0.006", "36.00"),
        (2, "6000.00", "0.006", "36.00"),
    ]
    deducted = [e["data"] for e in events if e["type"] == "InstallmentDeducted"]
    assert [d["collected"] for d in deducted] == ["1036.00", "1036.00"]
    assert deducted[0]["allocations"] == [
        {"k": 1, "penalty": "0.00", "fee": "36.00", "interest": "0.00", "principal": "1000.00"}
    ]
    shown = ledger.ok("loan", "show", "BI1")
    assert shown["principal_outstanding"] == "4000.00"
    assert (shown["interest_accrued"], shown["amount_due"]) == ("0.00", "0.00")
    assert (shown["next_due_date"], shown["next_due_amount"]) == ("2026-04-15", "1036.00")
    assert ledger.ok("audit", "verify", "BI1")["clean"] is True


def test_a_full_prepayment_charges_the_fees_of_the_four_installments_not_yet_due(
    ledger: Ledger,
) -> None:
    """4,000.00 + 4 x 36.00 + 40.00 = 4,184.00; the quote shows each part and writes nothing."""
    two_installments_paid(ledger, "BI2")
    before = ledger.event_count()
    quote = ledger.ok("loan", "prepay", "BI2", "--full", "--on", "2026-03-20", "--quote")
    assert ledger.event_count() == before
    parts = {k: quote[k] for k in ("principal", "overdue", "penalty", "interest", "fee",
                                   "handling_fees_due", "remaining_fees_rule",
                                   "remaining_fee_installments", "handling_fee",
                                   "remaining_fees", "total")}  # fmt: skip
    assert parts == {
        "principal": "4000.00",
        "overdue": "0.00",
        "penalty": "0.00",
        "interest": "0.00",
        "fee": "40.00",
        "handling_fees_due": "0.00",
        "remaining_fees_rule": "charge",
        "remaining_fee_installments": 4,
        "handling_fee": "36.00",
        "remaining_fees": "144.00",
        "total": "4184.00",
    }
    paid = ledger.ok("loan", "prepay", "BI2", "--full", "--on", "2026-03-20")
    assert (paid["executed"], paid["total"], paid["status"]) == (True, "4184.00", "closed")
    events = ledger.ok("loan", "events", "BI2")
    assessed = next(e["data"] for e in events if e["type"] == "RemainingFeesAssessed")
    assert (assessed["rule"], assessed["installments"]) == ("charge", [3, 4, 5, 6])
    assert (assessed["fee"], assessed["charged"]) == ("36.00", "144.00")
    assert [e["type"] for e in events[-3:]] == ["RemainingFeesAssessed", "Prepaid", "Closed"]
    shown = ledger.ok("loan", "show", "BI2")
    assert (shown["status"], shown["principal_outstanding"]) == ("closed", "0.00")
    assert ledger.ok("audit", "verify", "BI2")["clean"] is True


def test_with_remaining_fees_waive_the_payoff_is_4040(ledger: Ledger) -> None:
    """4,000.00 + 0.00 (four fees waived) + 40.00 = 4,040.00."""
    two_installments_paid(ledger, "BI3", "--remaining-fees", "waive")
    paid = ledger.ok("loan", "prepay", "BI3", "--full", "--on", "2026-03-20")
    assert (paid["remaining_fees_rule"], paid["remaining_fee_installments"]) == ("waive", 4)
    assert (paid["remaining_fees"], paid["fee"], paid["total"]) == ("0.00", "40.00", "4040.00")
    assert paid["status"] == "closed"
    events = ledger.ok("loan", "events", "BI3")
    assessed = next(e["data"] for e in events if e["type"] == "RemainingFeesAssessed")
    assert (assessed["rule"], assessed["charged"]) == ("waive", "0.00")
    assert ledger.ok("audit", "verify", "BI3")["clean"] is True


def test_an_unpaid_installment_is_paid_fee_first_within_the_payoff_of_5220(
    ledger: Ledger,
) -> None:
    """The account is empty from 2026-03-01, so installment 2 (1,036.00) is unpaid and overdue;
    no interest, so no penalty. Payoff: 1,036.00 + 4,000.00 + 144.00 + 40.00 = 5,220.00."""
    ledger.ok(*OPEN, "--loan-id", "BI4")
    ledger.ok("close-day", "--through", "2026-02-28")
    ledger.ok("bank", "set-balance", "BI4", "0")
    ledger.ok("close-day", "--through", "2026-03-19")
    shown = ledger.ok("loan", "show", "BI4")
    assert (shown["status"], shown["amount_due"], shown["penalty_accrued"]) == (
        "overdue",
        "1036.00",
        "0.00",
    )
    paid = ledger.ok("loan", "prepay", "BI4", "--full", "--on", "2026-03-20")
    assert (paid["overdue"], paid["handling_fees_due"]) == ("1000.00", "36.00")
    assert (paid["principal"], paid["remaining_fees"]) == ("4000.00", "144.00")
    assert paid["fee"] == "40.00"
    assert paid["total"] == "5220.00"
    assert paid["allocations"] == [
        {"k": 2, "penalty": "0.00", "fee": "36.00", "interest": "0.00",
         "principal": "1000.00", "total": "1036.00"}
    ]  # fmt: skip
    assert paid["status"] == "closed"
    assert ledger.ok("audit", "verify", "BI4")["clean"] is True


def test_the_last_installment_takes_the_rest_and_the_fee_is_rounded_once(ledger: Ledger) -> None:
    """1,000.00 over 3 at f = 0.004567: fee round(4.567) = 4.57; principal round(333.333...) =
    333.33, 333.33 and the rest 333.34; deducted 337.90, 337.90, 337.91 (fees 13.71 in all), and
    the loan closes repaid with the third."""
    ledger.ok("loan", "open", "--product", "bank_installment", "--principal", "1000.00",
              "--term", "3", "--disbursed-on", "2026-01-31", "--fee-rate-per-period",
              "0.004567", "--loan-id", "BI5")  # fmt: skip
    ledger.ok("close-day", "--through", "2026-04-30")
    events = ledger.ok("loan", "events", "BI5")
    deducted = [e["data"]["collected"] for e in events if e["type"] == "InstallmentDeducted"]
    assert deducted == ["337.90", "337.90", "337.91"]
    fees = [e["data"]["fee"] for e in events if e["type"] == "HandlingFeeFellDue"]
    assert fees == ["4.57", "4.57", "4.57"]
    closed = next(e for e in events if e["type"] == "Closed")
    assert (closed["effective_date"], closed["data"]["reason"]) == ("2026-04-30", "repaid")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ([], "fee_rate_per_period: required for a bank_installment loan"),
        (["--fee-rate-per-period", "0.006", "--daily-rate", "0.0005"],
         "daily_rate: a bank_installment loan bears no interest"),
        (["--fee-rate-per-period", "0.006", "--method", "equal_installment"],
         "method: a bank_installment loan is flat"),
        (["--fee-rate-per-period", "0.2"], "fee_rate_per_period"),
        (["--fee-rate-per-period", "-0.006"], "fee_rate_per_period"),
        (["--fee-rate-per-period", "0,006"], "0,006"),
        (["--fee-rate-per-period", "0.006", "--remaining-fees", "keep"], "remaining-fees"),
    ],
)  # fmt: skip
def test_bad_bank_installment_terms_are_refused_and_write_nothing(
    ledger: Ledger, extra: list[str], needle: str
) -> None:
    args = ["loan", "open", "--product", "bank_installment", "--principal", "6000.00",
            "--term", "6", "--disbursed-on", "2026-01-15", *extra, "--loan-id", "BAD"]  # fmt: skip
    assert_refused(ledger, args, needle)


@pytest.mark.parametrize(
    "extra", [["--fee-rate-per-period", "0.006"], ["--remaining-fees", "waive"]]
)
def test_the_new_terms_are_refused_on_any_other_product(ledger: Ledger, extra: list[str]) -> None:
    args = ["loan", "open", "--product", "equal_principal", "--principal", "1000.00", "--term",
            "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005", *extra]  # fmt: skip
    assert_refused(ledger, args, "only a bank_installment loan takes it (loan-rules section 13)")


def test_a_partial_prepayment_of_a_bank_installment_loan_is_refused(ledger: Ledger) -> None:
    two_installments_paid(ledger, "BI6")
    assert_refused(
        ledger,
        ["loan", "prepay", "BI6", "--amount", "1000.00", "--on", "2026-03-20"],
        "prepaid in full only (loan-rules section 13)",
    )


def test_a_loan_of_another_product_records_no_fee_terms_and_no_fee_keys(ledger: Ledger) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005",
              "--loan-id", "EP")  # fmt: skip
    ledger.ok("close-day", "--through", "2026-04-02")
    events = ledger.ok("loan", "events", "EP")
    assert not {"fee_rate_per_period", "remaining_fees"} & set(events[0]["data"]["terms"])
    assert "HandlingFeeFellDue" not in {e["type"] for e in events}
    deducted = next(e["data"] for e in events if e["type"] == "InstallmentDeducted")
    assert "fee" not in deducted["allocations"][0]
    assert "handling_fees_owed" not in ledger.ok("loan", "show", "EP")


def test_explain_what_if_report_and_show_carry_the_handling_fees(ledger: Ledger) -> None:
    """Installment 2 unpaid: explain's handling_fees_owed is its fee line 36.00 (§13); a
    what-if at f = 0.005 charges 30.00 a month; the report names the terms and each fee."""
    ledger.ok(*OPEN, "--loan-id", "BI7")
    ledger.ok("close-day", "--through", "2026-02-28")
    ledger.ok("bank", "set-balance", "BI7", "0")
    ledger.ok("close-day", "--through", "2026-03-19")
    shown = ledger.ok("loan", "show", "BI7")
    assert (shown["handling_fees_owed"], shown["overdue_amount"]) == ("36.00", "1000.00")
    explained = ledger.ok("loan", "explain", "BI7")
    assert explained["adds_up"] is True
    fees = explained["figures"]["handling_fees_owed"]
    assert (fees["figure"], [line["arithmetic"] for line in fees["lines"]]) == (
        "36.00",
        ["round_half_up(6000.00 x 0.006) = 36.00 fee of #2"],
    )
    answer = ledger.ok("audit", "what-if", "BI7", "--set", "fee_rate_per_period=0.005")
    total = answer["total"]
    assert (total["charged"]["fee"], total["would_have_been"]["fee"]) == ("72.00", "60.00")
    printed = ledger("audit", "report", "BI7", "--format", "json")
    assert printed.code == 0, printed.err
    report = printed.json
    assert (report["terms"]["fee_rate_per_period"], report["terms"]["remaining_fees"]) == (
        "0.006",
        "charge",
    )
    assert report["terms"]["rate"] == "0 a day"
    assert [f["fee"] for f in report["fees"]] == ["36.00", "36.00"]


def test_post_loans_opens_a_bank_installment_loan_and_refuses_a_rate(app: LedgerApp) -> None:
    body = {"loan_id": "HTTP13", "product": "bank_installment", "principal": "6000.00",
            "term": 6, "disbursed_on": "2026-01-15", "fee_rate_per_period": "0.006",
            "remaining_fees": "waive"}  # fmt: skip
    for api in serve(app):
        refused = api.post("/loans", {**body, "loan_id": "HTTPX", "daily_rate": "0.0005"})
        assert refused.status_code == 422, refused.text
        assert "bears no interest" in refused.text
        opened = api.post("/loans", body)
        assert opened.status_code == 201, opened.text
        app.close_days(date(2026, 2, 15))
        shown = api.get("/loans/HTTP13").json()
        assert (shown["principal_outstanding"], shown["handling_fees_owed"]) == ("5000.00", "0.00")
        quote = api.post("/loans/HTTP13/prepayments/quote", {"on": "2026-02-16", "full": True})
        assert quote.status_code == 200, quote.text
        assert (quote.json()["remaining_fees"], quote.json()["total"]) == ("0.00", "5000.00")


def test_the_statements_count_the_handling_fees_and_close_to_zero_after_the_payoff(
    ledger: Ledger,
) -> None:
    """February: 6,000.00 disbursed, installment 1's fee 36.00 added and deducted with its
    1,000.00: closing 5,000.00. March: installment 2's fee 36.00 added, nothing paid (the
    account is empty): closing 5,036.00 (fees 36.00). April: the payoff on 2026-03-20 adds the
    4 remaining fees (144.00) and the 40.00 prepayment fee, and pays 1,036.00 + 4,000.00 +
    144.00 + 40.00 = 5,220.00: closing 0.00."""
    ledger.ok(*OPEN, "--loan-id", "BI7")
    ledger.ok("close-day", "--through", "2026-02-28")
    ledger.ok("bank", "set-balance", "BI7", "0")
    ledger.ok("close-day", "--through", "2026-03-19")
    ledger.ok("loan", "prepay", "BI7", "--full", "--on", "2026-03-20")
    feb, mar, apr = (
        ledger.ok("loan", "statement", "BI7", "--month", m)
        for m in ("2026-02", "2026-03", "2026-04")
    )
    assert (feb["fees"], feb["deducted_fee"], feb["closing_balance"]) == (
        "36.00",
        "36.00",
        "5000.00",
    )
    assert (mar["fees"], mar["paid_total"], mar["closing_balance"]) == ("36.00", "0.00", "5036.00")
    assert (mar["closing_principal"], mar["closing_fees"]) == ("5000.00", "36.00")
    assert (apr["opening_balance"], apr["fees"], apr["prepaid_fee"]) == (
        "5036.00",
        "184.00",
        "220.00",
    )
    assert (apr["paid_total"], apr["closing_balance"]) == ("5220.00", "0.00")
