"""The per-transaction interest method (loan-rules section 10, issue 15 part 2), on SQLite and
PostgreSQL, through the CLI's JSON: the principal not yet due at the start of a piece x (whole
months x the monthly rate + odd days x the day rate); a partial prepayment ends a piece; a
loan that does not name the method keeps the daily balance, as before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_api import assert_problem, serve
from tests.interface.test_edge_cli import assert_refused

# Section 10's example: 12,000.00 at annual 18 % (ACT/360), 12 months, from 2026-01-15.
# borrow_and_return: equal installments, no prepayment fee.
OPEN = ["loan", "open", "--product", "borrow_and_return", "--principal", "12000.00",
        "--term", "12", "--disbursed-on", "2026-01-15", "--annual-rate", "0.18",
        "--day-count", "ACT/360"]  # fmt: skip
PER_TRANSACTION = ["--interest-method", "per_transaction"]


@pytest.fixture(autouse=True)
def business_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-12-01")


def fixed_interest(ledger: Ledger, ref: str) -> list[str]:
    """The interest each installment was fixed with (``InstallmentFellDue``), in order."""
    events = ledger.ok("loan", "events", ref)
    return [e["data"]["interest"] for e in events if e["type"] == "InstallmentFellDue"]


def month_entries(ledger: Ledger, ref: str) -> list[dict[str, Any]]:
    events = ledger.ok("loan", "events", ref)
    return [
        e["data"]["month"]
        for e in events
        if e["type"] == "InterestAccrued" and "month" in e["data"]
    ]


def test_section_10_example_one_whole_month_is_180_00(ledger: Ledger) -> None:
    """Installment 1: 12,000.00 x 1 month x 0.18 / 12 = 180.00, where the daily balance
    charges 31 days x 12,000.00 x 0.18 / 360 = 186.00."""
    opened = ledger.ok(*OPEN, *PER_TRANSACTION, "--loan-id", "PT1")
    assert (opened["interest_method"], opened["monthly_rate"]) == ("per_transaction", "0.015")
    ledger.ok(*OPEN, "--loan-id", "DB1")
    ledger.ok("close-day", "--through", "2026-02-15")
    assert fixed_interest(ledger, "PT1") == ["180.00"]
    assert fixed_interest(ledger, "DB1") == ["186.00"]
    assert ledger.ok("audit", "verify", "PT1")["clean"] is True


def test_section_10_example_with_a_first_due_date_is_240_00(ledger: Ledger) -> None:
    """First due date 2026-02-25: one whole month (2026-01-15 to 02-14) and 10 odd days
    (02-15 to 02-24): 12,000.00 x (0.015 + 10 x 0.0005) = 180.00 + 60.00 = 240.00."""
    ledger.ok(*OPEN, *PER_TRANSACTION, "--first-due-date", "2026-02-25", "--loan-id", "PT9")
    ledger.ok("close-day", "--through", "2026-02-25")
    assert fixed_interest(ledger, "PT9") == ["240.00"]
    (month,) = month_entries(ledger, "PT9")
    assert (month["first_day"], month["last_day"], month["odd_days"]) == (
        "2026-01-15",
        "2026-02-14",
        31,
    )


def test_loan_show_counts_a_month_not_completed_as_odd_days(ledger: Ledger) -> None:
    """Through 2026-01-24, 10 odd days: 10 x 12,000.00 x 0.0005 = 60.00 accrued, what a
    payoff the next day charges; the day the month completes (2026-02-14) the 31 odd days
    (186.00) give way to the month: 180.00."""
    ledger.ok(*OPEN, *PER_TRANSACTION, "--loan-id", "PTS")
    ledger.ok("close-day", "--through", "2026-01-24")
    assert ledger.ok("loan", "show", "PTS")["interest_accrued"] == "60.00"
    quote = ledger.ok("loan", "prepay", "PTS", "--on", "2026-01-25", "--full", "--quote")
    assert quote["interest"] == "60.00"
    ledger.ok("close-day", "--through", "2026-02-13")
    assert ledger.ok("loan", "show", "PTS")["interest_accrued"] == "180.00"  # 30 odd days
    ledger.ok("close-day", "--through", "2026-02-14")
    assert ledger.ok("loan", "show", "PTS")["interest_accrued"] == "180.00"  # the month
    (month,) = month_entries(ledger, "PTS")
    assert (month["month_interest"], month["odd_interest"], month["amount"]) == (
        "180",
        "186",
        "-6",
    )


def test_a_partial_prepayment_ends_the_piece_and_starts_one_on_the_new_principal(
    ledger: Ledger,
) -> None:
    """Installment 1 (180.00 interest, EMI 1,100.16) leaves 12,000.00 - 920.16 = 11,079.84.
    A prepayment of 2,099.72 on 2026-03-05 ends the piece: 18 odd days (02-15 to 03-04) x
    11,079.84 x 0.0005 = 99.71856, 99.72 of interest, and 2,000.00 of principal. The new
    piece from 03-05 on 9,079.84: 10 odd days to the due date 03-15, 10 x 9,079.84 x 0.0005
    = 45.3992, installment 2's interest 45.40."""
    ledger.ok(*OPEN, *PER_TRANSACTION, "--loan-id", "PTP")
    ledger.ok("close-day", "--through", "2026-03-04")
    prepaid = ledger.ok("loan", "prepay", "PTP", "--amount", "2099.72", "--on", "2026-03-05")
    assert (prepaid["interest"], prepaid["principal"]) == ("99.72", "2000.00")
    assert prepaid["remaining_principal"] == "9079.84"
    ledger.ok("close-day", "--through", "2026-03-15")
    assert fixed_interest(ledger, "PTP") == ["180.00", "45.40"]
    assert ledger.ok("audit", "verify", "PTP")["clean"] is True
    explained = ledger.ok("loan", "explain", "PTP")
    assert explained["adds_up"] is True


def test_whole_months_are_counted_as_due_dates_are_so_a_clamped_period_is_one_month(
    ledger: Ledger,
) -> None:
    """From 2026-01-31 (daily rate 0.0005, monthly 0.015) the due dates are 02-28 and 03-31,
    each counted from 01-31 (section 2). Period 1 is one whole month: 3,000.00 x 0.015 =
    45.00. Period 2, 02-28 to 03-31, is one whole month too (01-31 + 2 months = 03-31), not
    a month to 03-28 and 3 odd days: B x 0.015 on B = 3,000.00 - (EMI - 45.00)."""
    opened = ledger.ok("loan", "open", "--product", "borrow_and_return", "--principal", "3000.00",
              "--term", "3", "--disbursed-on", "2026-01-31", "--daily-rate", "0.0005",
              *PER_TRANSACTION, "--loan-id", "PTC")  # fmt: skip
    ledger.ok("close-day", "--through", "2026-03-31")
    first, second = fixed_interest(ledger, "PTC")
    assert first == "45.00"
    base = Decimal("3000.00") - (Decimal(opened["emi"]) - Decimal("45.00"))
    assert second == str((base * Decimal("0.015")).quantize(Decimal("0.01")))
    months = month_entries(ledger, "PTC")
    assert [(m["piece_start"], m["first_day"], m["last_day"]) for m in months] == [
        ("2026-01-31", "2026-01-31", "2026-02-27"),
        ("2026-02-28", "2026-02-28", "2026-03-30"),
    ]


def test_what_if_answers_the_method_dispute(ledger: Ledger) -> None:
    """A daily-balance loan charged 186.00 for its first month; under per_transaction it
    would have been 180.00."""
    ledger.ok(*OPEN, "--loan-id", "WIF")
    ledger.ok("close-day", "--through", "2026-02-14")
    answer = ledger.ok("audit", "what-if", "WIF", "--set", "interest_method=per_transaction")
    total = answer["total"]
    assert (total["charged"]["interest"], total["would_have_been"]["interest"]) == (
        "186.00",
        "180.00",
    )


@pytest.mark.parametrize(
    ("terms", "needle"),
    [
        (["--interest-method", "per-transaction"], "per-transaction"),
        (["--interest-method", "per_transaction", "--method", "flat"], "flat"),
    ],
)
def test_a_bad_interest_method_is_refused_and_writes_nothing(
    ledger: Ledger, terms: list[str], needle: str
) -> None:
    assert_refused(ledger, [*OPEN, *terms, "--loan-id", "BAD"], needle)


def test_a_flat_product_refuses_per_transaction_over_http(app: LedgerApp) -> None:
    body = {"loan_id": "FLAT10", "product": "mall_installment", "principal": "1000.00",
            "term": 2, "disbursed_on": "2026-03-01", "daily_rate": "0.0005",
            "interest_method": "per_transaction"}  # fmt: skip
    for api in serve(app):
        before = api.events()
        assert_problem(api.post("/loans", body), 422, "interest_method")
        assert api.events() == before


def test_post_loans_takes_interest_method_and_the_report_names_it(app: LedgerApp) -> None:
    body = {"loan_id": "HTTP10", "product": "borrow_and_return", "principal": "12000.00",
            "term": 12, "disbursed_on": "2026-01-15", "annual_rate": "0.18",
            "day_count": "ACT/360", "interest_method": "per_transaction"}  # fmt: skip
    for api in serve(app):
        opened = api.post("/loans", body)
        assert opened.status_code == 201, opened.text
        app.close_days(date(2026, 2, 14))
        assert api.get("/loans/HTTP10").json()["interest_accrued"] == "180.00"
        report = api.get("/loans/HTTP10/report").json()
        assert report["terms"]["interest_method"] == "per_transaction"


def test_a_leap_year_penalty_keeps_section_4s_rate_on_the_entry(ledger: Ledger) -> None:
    """ACT/ACT in 2024: normal interest at section 10's annual_rate / 365, penalty at section
    4's / 366 (the year's days), which the penalty entry carries: 1,000.00 x 0.0365 / 365 =
    0.10 a day of normal interest; installment 1 overdue, its penalty at / 366."""
    ledger.ok("loan", "open", "--product", "interest_first", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2024-01-10", "--annual-rate", "0.0365",
              "--day-count", "ACT/ACT", *PER_TRANSACTION, "--loan-id", "LEAP")  # fmt: skip
    ledger.ok("bank", "set-balance", "LEAP", "0.00")
    ledger.ok("close-day", "--through", "2024-02-12")
    events = ledger.ok("loan", "events", "LEAP")
    accrued = [e["data"] for e in events if e["type"] == "InterestAccrued"]
    assert (accrued[0]["divisor"], accrued[0]["normal"]) == (365, "0.1")
    entry = accrued[-1]["penalties"][0]
    assert (entry["divisor"], entry["days"]) == (366, 1)
    assert ledger.ok("audit", "verify", "LEAP")["clean"] is True
    assert ledger.ok("loan", "explain", "LEAP")["adds_up"] is True


def test_the_audit_page_names_the_method_and_shows_the_months_arithmetic(app: LedgerApp) -> None:
    from tests.interface.test_ui_pages import serve_pages, text_of

    body = {"loan_id": "UI10", "product": "borrow_and_return", "principal": "12000.00",
            "term": 12, "disbursed_on": "2026-01-15", "annual_rate": "0.18",
            "day_count": "ACT/360", "interest_method": "per_transaction"}  # fmt: skip
    for api in serve(app):
        assert api.post("/loans", body).status_code == 201
    app.close_days(date(2026, 2, 20))
    for pages in serve_pages(app):
        assert pages.sign_in().status_code == 303
        page = text_of(pages.get("/ui/loans/UI10"))
        assert "per transaction (section 10)" in page
        assert "month 1 from 2026-01-15 completed on 2026-02-14" in page
        assert "12000.00 x 0.18 / 12 = 180" in page
