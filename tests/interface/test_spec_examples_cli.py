"""Every worked example of loan-rules section 8, to the fen, through the CLI's JSON."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Ledger


def open_loan(
    ledger: Ledger,
    loan_id: str,
    product: str,
    principal: str,
    term: str,
    disbursed_on: str,
    *extra: str,
) -> None:
    ledger.ok(
        "loan",
        "open",
        "--product",
        product,
        "--principal",
        principal,
        "--term",
        term,
        "--disbursed-on",
        disbursed_on,
        "--daily-rate",
        "0.0005",
        "--loan-id",
        loan_id,
        *extra,
    )


def test_example_1_borrow_and_return_payoff_after_three_days_pays_15_interest_and_no_fee(
    ledger: Ledger,
) -> None:
    open_loan(ledger, "E1", "borrow_and_return", "10000.00", "6", "2026-01-01")
    quote = ledger.ok("loan", "prepay", "E1", "--on", "2026-01-04", "--full", "--quote")
    assert (quote["interest"], quote["fee"], quote["total"]) == ("15.00", "0.00", "10015.00")
    paid = ledger.ok("loan", "prepay", "E1", "--on", "2026-01-04", "--full")
    assert (paid["interest"], paid["fee"], paid["total"]) == ("15.00", "0.00", "10015.00")
    assert paid["principal"] == "10000.00"
    assert ledger.ok("loan", "show", "E1")["status"] == "closed"


def test_example_2_repay_on_schedule_payoff_charges_three_percent_fee(ledger: Ledger) -> None:
    open_loan(ledger, "E2", "repay_on_schedule", "10000.00", "6", "2026-01-01")
    paid = ledger.ok("loan", "prepay", "E2", "--on", "2026-01-04", "--full")
    assert (paid["interest"], paid["fee"], paid["total"]) == ("15.00", "300.00", "10315.00")


def test_example_3_equal_installment_first_installment_is_186_interest_and_914_16_principal(
    ledger: Ledger,
) -> None:
    opened = ledger.ok(
        "loan",
        "open",
        "--product",
        "repay_on_schedule",
        "--method",
        "equal_installment",
        "--principal",
        "12000.00",
        "--term",
        "12",
        "--disbursed-on",
        "2026-01-15",
        "--daily-rate",
        "0.0005",
        "--loan-id",
        "E3",
    )
    assert opened["emi"] == "1100.16"
    assert opened["monthly_rate"] == "0.0150"
    ledger.ok("close-day", "--through", "2026-02-15")
    first = ledger.ok("loan", "schedule", "E3")[0]
    assert (first["due_date"], first["interest"], first["principal"]) == (
        "2026-02-15",
        "186.00",
        "914.16",
    )
    assert first["status"] == "paid"  # the default linked account has unlimited funds


def test_example_4_interest_first_pays_interest_monthly_and_principal_with_the_last(
    ledger: Ledger,
) -> None:
    open_loan(ledger, "E4", "interest_first", "12000.00", "12", "2026-01-15")
    ledger.ok("close-day", "--through", "2027-01-15")
    schedule = ledger.ok("loan", "schedule", "E4")
    assert len(schedule) == 12
    assert (schedule[0]["interest"], schedule[0]["principal"]) == ("186.00", "0.00")
    assert all(row["principal"] == "0.00" for row in schedule[:11])
    last = schedule[11]
    assert last["principal"] == "12000.00"
    # its period's interest: 2026-12-15 .. 2027-01-14 = 31 days x 6.00
    assert last["interest"] == "186.00"
    assert ledger.ok("loan", "show", "E4")["status"] == "closed"


def test_example_5_unpaid_installment_turns_overdue_and_bears_penalty(ledger: Ledger) -> None:
    open_loan(ledger, "E5", "equal_principal", "1000.00", "2", "2026-03-01")
    ledger.ok("bank", "set-balance", "E5", "0")
    ledger.ok("close-day", "--through", "2026-04-01")
    on_due_day = ledger.ok("loan", "show", "E5", "--as-of", "2026-04-01")
    assert on_due_day["overdue_amount"] == "515.50"
    schedule = ledger.ok("loan", "schedule", "E5")
    assert (schedule[0]["principal"], schedule[0]["interest"]) == ("500.00", "15.50")
    assert schedule[0]["status"] == "overdue"
    ledger.ok("close-day", "--through", "2026-04-05")
    state = ledger.ok("loan", "show", "E5", "--as-of", "2026-04-05")
    assert state["status"] == "overdue"
    assert state["days_past_due"] == 4
    assert state["penalty_accrued"] == "1.55"  # round(1.546500)
    assert state["interest_accrued"] == "1.50"  # round(1.500000)
    events = ledger.ok("loan", "events", "E5")
    overdue = [e for e in events if e["type"] == "Overdue"]
    assert overdue[0]["data"]["overdue_from"] == "2026-04-02"
    accruals = {e["effective_date"]: e["data"] for e in events if e["type"] == "InterestAccrued"}
    assert Decimal(accruals["2026-04-01"]["normal"]) == Decimal("0.50")
    assert Decimal(accruals["2026-04-01"]["penalty"]) == 0
    for day in ("2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05"):
        [penalty] = accruals[day]["penalties"]
        assert penalty["k"] == 1
        assert Decimal(penalty["base"]) == Decimal("515.50")
        assert Decimal(penalty["amount"]) == Decimal("0.386625")
        assert Decimal(accruals[day]["normal"]) == Decimal("0.25")
    days = ("2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05")
    assert sum(Decimal(accruals[d]["penalty"]) for d in days) == Decimal("1.546500")
    assert sum(Decimal(a["normal"]) for d, a in accruals.items() if d >= "2026-04-01") == Decimal(
        "1.500000"
    )
