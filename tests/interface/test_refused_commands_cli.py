"""Bad input gets a clear one-line error and leaves the store unchanged: no event, ever."""

from __future__ import annotations

import pytest

from tests.conftest import Ledger

OPEN = [
    "loan",
    "open",
    "--product",
    "borrow_and_return",
    "--principal",
    "10000.00",
    "--term",
    "6",
    "--disbursed-on",
    "2026-01-01",
    "--daily-rate",
    "0.0005",
]


@pytest.fixture
def opened(ledger: Ledger) -> Ledger:
    ledger.ok(*OPEN, "--loan-id", "L1")
    return ledger


def assert_refused(ledger: Ledger, args: list[str], *needles: str) -> None:
    before = ledger.event_count()
    result = ledger(*args)
    assert result.code != 0
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert ledger.event_count() == before


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--principal", "-100", "principal"),
        ("--principal", "0", "principal"),
        ("--principal", "1e", "principal"),
        ("--principal", "12.345", "principal"),
        ("--principal", "nan", "principal"),
        ("--term", "0", "term"),
        ("--term", "361", "term"),
        ("--daily-rate", "-0.0005", "daily_rate"),
        ("--daily-rate", "0.5", "daily_rate"),
        ("--disbursed-on", "2026-02-30", "--disbursed-on"),
        ("--grace-days", "-1", "--grace-days"),
    ],
)
def test_opening_a_loan_with_a_bad_term_is_refused_naming_the_field(
    ledger: Ledger, flag: str, value: str, needle: str
) -> None:
    args = list(OPEN)
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    assert_refused(ledger, args, needle)


def test_an_unknown_preset_is_refused(ledger: Ledger) -> None:
    args = list(OPEN)
    args[args.index("--product") + 1] = "payday_special"
    assert_refused(ledger, args, "payday_special")


def test_both_rates_at_once_are_refused(ledger: Ledger) -> None:
    assert_refused(ledger, [*OPEN, "--annual-rate", "0.18", "--day-count", "ACT/365"], "rate")


def test_the_same_loan_id_cannot_be_opened_twice(opened: Ledger) -> None:
    assert_refused(opened, [*OPEN, "--loan-id", "L1"], "already exists")


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.001", "inf", "0x10"])
def test_a_repayment_of_a_bad_amount_is_refused(opened: Ledger, amount: str) -> None:
    opened.ok("bank", "set-balance", "L1", "0")
    opened.ok("close-day", "--through", "2026-02-01")
    assert_refused(opened, ["loan", "repay", "L1", amount, "--on", "2026-02-02"], "amount")


def test_a_repayment_of_an_unknown_loan_is_refused(ledger: Ledger) -> None:
    assert_refused(ledger, ["loan", "repay", "NOPE", "10", "--on", "2026-02-02"], "unknown loan")


def test_repaying_more_than_is_due_is_refused_and_points_to_prepayment(opened: Ledger) -> None:
    opened.ok("bank", "set-balance", "L1", "0")
    opened.ok("close-day", "--through", "2026-02-01")
    due = opened.ok("loan", "show", "L1")["amount_due"]
    assert_refused(
        opened,
        ["loan", "repay", "L1", "5000.00", "--on", "2026-02-02"],
        "exceeds",
        due,
        "prepayment",
    )


def test_a_repayment_that_needs_catch_up_but_is_refused_writes_nothing(opened: Ledger) -> None:
    # the inline catch-up of January would write events: the refusal discards them too
    assert_refused(opened, ["loan", "repay", "L1", "99999.00", "--on", "2026-02-10"], "exceeds")


def test_prepaying_a_closed_loan_is_refused(opened: Ledger) -> None:
    opened.ok("loan", "prepay", "L1", "--on", "2026-01-04", "--full")
    assert_refused(opened, ["loan", "prepay", "L1", "--on", "2026-01-05", "--full"], "closed")


def test_a_back_dated_repayment_is_refused(opened: Ledger) -> None:
    opened.ok("bank", "set-balance", "L1", "0")
    opened.ok("close-day", "--through", "2026-02-05")
    assert_refused(opened, ["loan", "repay", "L1", "10.00", "--on", "2026-02-03"], "already closed")


def test_a_date_before_disbursement_is_refused(opened: Ledger) -> None:
    assert_refused(
        opened, ["loan", "prepay", "L1", "--on", "2025-12-31", "--full"], "before its disbursement"
    )


def test_a_disbursement_on_an_already_closed_day_is_refused(opened: Ledger) -> None:
    opened.ok("close-day", "--through", "2026-01-10")
    assert_refused(
        opened,
        [*OPEN[:-4], "--disbursed-on", "2026-01-09", "--daily-rate", "0.0005"],
        "last closed business day",
    )


def test_a_partial_prepayment_that_would_pay_everything_is_refused(opened: Ledger) -> None:
    assert_refused(
        opened,
        ["loan", "prepay", "L1", "--on", "2026-01-04", "--amount", "20000"],
        "full prepayment",
    )


def test_prepay_needs_exactly_one_of_full_and_amount(opened: Ledger) -> None:
    assert_refused(opened, ["loan", "prepay", "L1", "--on", "2026-01-04"], "--full")


def test_a_negative_bank_balance_is_refused(opened: Ledger) -> None:
    assert_refused(opened, ["bank", "set-balance", "L1", "-1"], "negative")


def test_show_as_of_a_day_not_yet_closed_is_refused(opened: Ledger) -> None:
    assert_refused(opened, ["loan", "show", "L1", "--as-of", "2026-03-01"], "not closed yet")
