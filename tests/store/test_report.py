"""The dispute report and the annualised cost (IRR on dates)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.domain.cost import CashFlow, annual_irr, daily_rate
from ledger.services.application import LedgerApp
from tests.conftest import Ledger

HEADINGS = (
    "Summary", "Terms", "Schedule, planned and actual", "Charges and their arithmetic",
    "Money received", "Corrections and waivers", "Verification", "Annualised cost",
)  # fmt: skip
EXAMPLE_1 = [
    "loan", "open", "--product", "borrow_and_return", "--principal", "10000.00", "--term", "6",
    "--disbursed-on", "2026-01-01", "--daily-rate", "0.0005", "--loan-id", "EX1",
]  # fmt: skip


def test_the_irr_of_loan_rules_example_1_is_the_hand_checked_figure() -> None:
    """10,000.00 out on 2026-01-01, 10,015.00 back three days later: 0.05 % a day over three
    days, so daily (1.0015)^(1/3) - 1 and annual (1.0015)^(365/3) - 1, by hand."""
    flows = [
        CashFlow(date(2026, 1, 1), Decimal("-10000.00"), "disbursed"),
        CashFlow(date(2026, 1, 4), Decimal("10015.00"), "payoff"),
    ]
    annual = annual_irr(flows)
    assert annual is not None
    expected_annual = Decimal("1.0015") ** (Decimal(365) / 3) - 1  # 0.20005004695...
    assert abs(annual - expected_annual) < Decimal("1e-9")
    assert abs(daily_rate(annual) - (Decimal("1.0015") ** (Decimal(1) / 3) - 1)) < Decimal("1e-12")
    assert str(annual)[:8] == "0.200050"


def test_an_irr_needs_money_out_and_money_back() -> None:
    assert annual_irr([CashFlow(date(2026, 1, 1), Decimal("-1"), "x")]) is None
    assert annual_irr([CashFlow(date(2026, 1, 1), Decimal("1"), "x")]) is None


def test_a_twelve_month_loan_at_one_and_a_half_percent_a_month_costs_about_19_6_percent() -> None:
    """EMI 1,100.16 on 12,000.00 over 12 monthly due dates: monthly IRR 1.5 %, so about
    (1.015)^12 - 1 = 19.56 % a year (the dates are calendar months, not 365/12 days)."""
    flows = [CashFlow(date(2026, 1, 15), Decimal("-12000.00"), "disbursed")]
    for k in range(1, 13):
        month = 1 + k
        year = 2026 + (month - 1) // 12
        flows.append(
            CashFlow(date(year, (month - 1) % 12 + 1, 15), Decimal("1100.16"), "installment")
        )
    annual = annual_irr(flows)
    assert annual is not None and Decimal("0.193") < annual < Decimal("0.198")


def test_the_report_tells_the_whole_story_in_markdown_json_and_one_html_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.ok(*EXAMPLE_1)
    ledger.ok("loan", "prepay", "EX1", "--on", "2026-01-04", "--full")
    data = json.loads(ledger("audit", "report", "EX1", "--format", "json").out)
    assert data["cost"]["annual_irr"] == "20.0050 %"
    assert data["cost"]["daily_irr"] == "0.0500 %"
    assert data["cost"]["to_date"] is False
    assert [c["verdict"] for c in data["cost"]["caps"]] == ["within", "within", "ABOVE"]
    assert data["verification"]["clean"] is True
    assert data["totals"]["received"] == "10015.00"
    md = ledger("audit", "report", "EX1").out
    for heading in HEADINGS:
        assert f"## {heading}" in md
    out = tmp_path / "EX1.html"
    written = ledger("audit", "report", "EX1", "--format", "html", "--out", str(out))
    assert written.code == 0 and out.exists()
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.endswith("</html>")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<style>" in page and "20.0050 %" in page


def test_the_report_shows_penalties_day_by_day_with_their_arithmetic(ledger: Ledger) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005",
              "--loan-id", "EX5")  # fmt: skip
    ledger.ok("bank", "set-balance", "EX5", "0")
    ledger.ok("close-day", "--through", "2026-04-05")
    data = json.loads(ledger("audit", "report", "EX5", "--format", "json").out)
    [first] = [c for c in data["charges"] if c["k"] == 1]
    assert first["penalty_lines"] == [
        {
            "from": "2026-04-02",
            "to": "2026-04-05",
            "arithmetic": "4 days x 515.50 x 0.0005 x 1.5 = 1.5465",
            "amount": "1.5465",
        }
    ]
    assert data["cost"]["to_date"] is True


def test_bad_report_options_are_one_line_errors(ledger: Ledger, tmp_path: Path) -> None:
    ledger.ok(*EXAMPLE_1)
    bad = ledger("audit", "report", "EX1", "--format", "pdf")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1
    nowhere = ledger("audit", "report", "EX1", "--out", str(tmp_path / "no" / "such" / "dir.md"))
    assert nowhere.code == 2 and "cannot write" in nowhere.err


# --------------------------------------------------------------------------- totals (issue 11)


def test_a_loan_paid_off_after_three_days_reports_the_interest_its_payoff_collected(
    app: LedgerApp,
) -> None:
    """loan-rules example 1: 10,000.00 at 0.05 % a day, paid off on day 4 with 10,015.00:
    15.00 of interest was charged, and the loan closed on 2026-01-04 (not at the end of the
    3rd)."""
    from ledger.adapters.config import RateCaps
    from ledger.read import report, report_render

    app.open_loan(_terms("borrow_and_return", "2026-01-01"), "PAID")
    app.close_days(date(2026, 1, 3))
    app.prepay("PAID", date(2026, 1, 4))
    data = report.build(app, "PAID", RateCaps())
    assert data["totals"]["interest"] == "15.00"
    assert data["totals"]["received"] == "10015.00"
    summary = report_render.markdown(data)
    assert "closed on 2026-01-04." in summary
    assert "at the end of 2026-01-03" not in summary


def test_a_refunded_fee_is_money_out_in_the_reports_cash_flows_and_lowers_the_cost(
    app: LedgerApp,
) -> None:
    """12,000.00 out, 12,378.00 back on day 4 (18.00 of interest, 360.00 of fee); the fee
    waived into credit is money still owed back, and once refunded it is money out on the day
    it left. Either way the cost is the interest's: 1.0015^(365/3) - 1 = 20.0050 % a year."""
    from ledger.adapters.config import RateCaps
    from ledger.read import report

    app.open_loan(_terms("repay_on_schedule", "2026-01-01"), "FEE")
    app.close_days(date(2026, 1, 3))
    app.prepay("FEE", date(2026, 1, 4))
    before = report.build(app, "FEE", RateCaps())
    assert before["cost"]["annual_irr"] != "20.0050 %"
    app.waive("FEE", part="fee", amount=Decimal("360.00"), on=None, actor="cs", reason="r")
    held = report.build(app, "FEE", RateCaps())
    assert held["cost"]["annual_irr"] == "20.0050 %"
    app.refund("FEE", Decimal("360.00"), on=None, actor="cs", reason="the waived fee")
    flows = report.cash_flows(app.get_loan("FEE"), list(app.loan_events("FEE")))
    assert [(str(f.on), f.amount, f.what) for f in flows][-1] == (
        "2026-01-04",
        Decimal("-360.00"),
        "refund paid to the borrower",
    )
    refunded = report.build(app, "FEE", RateCaps())
    assert refunded["cost"]["annual_irr"] == "20.0050 %"
    assert [c["what"] for c in refunded["corrections"]] == [
        "waived 360.00 of fee already paid: credit 360.00",
        "refunded 360.00 to the borrower: credit 0.00",
    ]


def test_the_reports_charged_totals_are_what_if_s_charged_totals_after_a_partial_prepayment(
    app: LedgerApp,
) -> None:
    from ledger.adapters.config import RateCaps
    from ledger.domain.terms import Replan
    from ledger.read import report
    from ledger.services import audit

    app.open_loan(_terms("repay_on_schedule", "2026-01-15"), "PART")
    app.close_days(date(2026, 3, 20))
    app.prepay("PART", date(2026, 3, 21), amount=Decimal("3000.00"), replan=Replan.REDUCE_TERM)
    app.close_days(date(2026, 5, 1))
    data = report.build(app, "PART", RateCaps())
    charged = audit.what_if(app, "PART", {})["total"]["charged"]
    assert (data["totals"]["interest"], data["totals"]["fees"], data["totals"]["penalty"]) == (
        charged["interest"],
        charged["fee"],
        charged["penalty"],
    )
    interest_rows = sum((Decimal(c["interest"]) for c in data["charges"]), Decimal(0))
    assert str(interest_rows) == data["totals"]["interest"]  # the table adds up to the total


def test_events_recorded_before_the_hash_chain_are_reported_as_unchained_not_intact(
    app: LedgerApp,
) -> None:
    from ledger.domain.chain import GENESIS, link
    from ledger.services import audit

    app.open_loan(_terms("repay_on_schedule", "2026-01-15"), "OLD")
    app.close_days(date(2026, 1, 20))
    events = list(app.events.get(app.get_loan("OLD").id))
    previous = GENESIS
    for event in events:  # the first three recorded before the chain existed
        chained = event.originator_version > 3
        value = link(previous, type(event).__name__, event.originator_id,
                     event.originator_version, vars(event)) if chained else GENESIS  # fmt: skip
        object.__setattr__(event, "chain", value)
        previous = value
    result = audit.verify_events(events[0].originator_id, "OLD", events).as_dict()
    assert result["clean"] is True
    assert result["unchained_events"] == 3
    assert result["hash_chain"] != "intact"
    assert "versions 1 to 3" in result["hash_chain"]


def _terms(product: str, disbursed_on: str) -> Any:
    from ledger.services.products import terms_from_input

    return terms_from_input(
        product=product,
        principal="10000.00" if product == "borrow_and_return" else "12000.00",
        term=6 if product == "borrow_and_return" else 12,
        disbursed_on=date.fromisoformat(disbursed_on),
        daily_rate="0.0005",
    )
