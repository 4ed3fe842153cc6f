"""Remedies on the command line (issue 14, point 2; loan-rules section 12), on SQLite and
PostgreSQL: ``ledger loan waive --fee`` gives a paid prepayment fee back as credit, ``ledger
loan refund`` pays credit out to the borrower's linked account, every balance shows the credit,
and each refusal is one line (exit 2) that writes no event.

The loan is section 8 example 2's: 10,000.00 ``repay_on_schedule`` paid off on 2026-01-04 for
``10,000.00 + 15.00 + 300.00 = 10,315.00`` (a 3 % prepayment fee); the borrower's linked
account holds 1,000.00 (a prepayment is paid in, not deducted from it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.account import LinkedAccount, account_id_for
from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_edge_cli import assert_refused

TODAY = "2026-03-01"


@pytest.fixture(autouse=True)
def no_four_eyes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four-eyes lifted by the threshold: these tests are about the remedies themselves (their
    approval is in test_approvals_cli)."""
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "1000000.00")


@pytest.fixture
def paid_off(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """FEE: paid off on 2026-01-04 with its 3 % fee (300.00); its account holds 1,000.00."""
    monkeypatch.setenv("LEDGER_TODAY", TODAY)
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "10000.00",
              "--term", "12", "--disbursed-on", "2026-01-01", "--daily-rate", "0.0005",
              "--loan-id", "FEE")  # fmt: skip
    ledger.ok("bank", "set-balance", "FEE", "1000.00")
    payoff = ledger.ok("loan", "prepay", "FEE", "--on", "2026-01-04", "--full")
    assert (payoff["fee"], payoff["total"], payoff["status"]) == ("300.00", "10315.00", "closed")
    return ledger


def account_balance(ledger: Ledger, ref: str) -> Decimal | None:
    """What the simulated bank's linked account of ``ref`` holds (read from the store)."""
    app = LedgerApp.from_url(ledger.db_url)
    try:
        account: Any = app.repository.get(account_id_for(app.get_loan(ref).id))
        assert isinstance(account, LinkedAccount)
        return account.balance
    finally:
        app.close()


def assert_verified_clean(ledger: Ledger, ref: str) -> None:
    assert ledger.ok("audit", "verify", ref)["clean"] is True


def test_a_paid_fee_waived_becomes_credit_on_the_closed_loan_and_a_refund_pays_it_out(
    paid_off: Ledger,
) -> None:
    ledger = paid_off
    assert account_balance(ledger, "FEE") == Decimal("1000.00")
    waived = ledger.ok("loan", "waive", "FEE", "--fee", "300.00", "--reason", "fee disputed",
                       "--actor", "complaints-desk")  # fmt: skip
    assert (waived["forgiven"], waived["credited"], waived["credit"]) == (
        "0.00",
        "300.00",
        "300.00",
    )
    assert (waived["status"], waived["on"], waived["actor"]) == (
        "closed",
        "2026-01-04",
        "complaints-desk",
    )
    assert ledger.ok("loan", "show", "FEE")["credit"] == "300.00"
    assert ledger.ok("loan", "show", "FEE", "--as-of", "2026-01-04")["credit"] == "300.00"
    assert_verified_clean(ledger, "FEE")

    refunded = ledger.ok("loan", "refund", "FEE", "300.00", "--reason", "fee given back")
    assert (refunded["amount"], refunded["credit_before"], refunded["credit_after"]) == (
        "300.00",
        "300.00",
        "0.00",
    )
    assert refunded["status"] == "closed"
    assert account_balance(ledger, "FEE") == Decimal("1300.00")  # up by the refund
    assert ledger.ok("loan", "show", "FEE")["credit"] == "0.00"
    assert ledger.ok("loan", "show", "FEE", "--as-of", "2026-01-04")["credit"] == "0.00"
    assert_verified_clean(ledger, "FEE")
    types = [e["type"] for e in ledger.ok("loan", "events", "FEE")]
    assert types[-2:] == ["PaidChargeWaived", "Refunded"]


def test_the_waiver_and_the_refund_say_what_they_did_without_json(paid_off: Ledger) -> None:
    waived = paid_off("loan", "waive", "FEE", "--fee", "300.00", "--reason", "fee disputed")
    assert waived.code == 0, waived.err
    assert "forgave 0.00 still owed; 300.00 already paid became credit" in waived.out
    assert "(credit now 300.00)" in waived.out
    refunded = paid_off("loan", "refund", "FEE", "120.00", "--reason", "part of the fee")
    assert refunded.code == 0, refunded.err
    assert "paid to the linked account; credit 300.00 -> 180.00" in refunded.out


def test_a_refund_above_the_credit_is_refused_on_one_line_and_writes_no_event(
    paid_off: Ledger,
) -> None:
    assert_refused(paid_off, ["loan", "refund", "FEE", "0.01", "--reason", "x"],
                   "cannot refund 0.01", "credit owed to the borrower is 0.00")  # fmt: skip
    paid_off.ok("loan", "waive", "FEE", "--fee", "300.00", "--reason", "fee disputed")
    assert_refused(paid_off, ["loan", "refund", "FEE", "300.01", "--reason", "x"],
                   "cannot refund 300.01", "is 300.00")  # fmt: skip
    paid_off.ok("loan", "refund", "FEE", "120.00", "--reason", "part")
    paid_off.ok("loan", "refund", "FEE", "180.00", "--reason", "the rest")
    assert_refused(paid_off, ["loan", "refund", "FEE", "0.01", "--reason", "x"], "is 0.00")
    assert account_balance(paid_off, "FEE") == Decimal("1300.00")
    assert_verified_clean(paid_off, "FEE")


def test_a_refund_or_a_fee_waiver_exits_2_when_refused(paid_off: Ledger) -> None:
    refused = paid_off("loan", "refund", "FEE", "1.00", "--reason", "x")
    assert refused.code == 2
    more = paid_off("loan", "waive", "FEE", "--fee", "300.01", "--reason", "x")
    assert more.code == 2 and "cannot waive 300.01 of fee" in more.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["refund", "FEE", "1,50"], "'1,50' is not an amount"),
        (["refund", "FEE", "-1.00"], "must be positive"),
        (["refund", "FEE", "0"], "must be positive"),
        (["refund", "FEE", "0.00"], "must be positive"),
        (["refund", "FEE", "1.001"], "amount"),
        (["refund", "FEE", "1e3"], "not an amount"),
        (["refund", "NOPE", "1.00"], "NOPE"),
        (["refund", "FEE", "1.00", "--on", "2026-01-03"], "closed"),
        (["refund", "FEE", "1.00", "--on", "2026-13-01"], "--on"),
        (["waive", "FEE", "--fee", "1,50"], "'1,50' is not an amount"),
        (["waive", "FEE", "--fee", "-1.00"], "must be positive"),
        (["waive", "FEE", "--fee", "0"], "must be positive"),
        (["waive", "FEE", "--fee", "1.00", "--penalty", "1.00"], "exactly one of --fee"),
        (["waive", "FEE"], "exactly one of --fee, --penalty and --interest"),
        (["waive", "FEE", "--penalty", "0.01"], "cannot waive 0.01 of penalty"),
    ],
)
def test_bad_remedies_are_refused_on_one_line_and_write_no_event(
    paid_off: Ledger, args: list[str], needle: str
) -> None:
    paid_off.ok("loan", "waive", "FEE", "--fee", "300.00", "--reason", "fee disputed")
    assert_refused(paid_off, ["loan", *args, "--reason", "x"], needle)
    assert paid_off.ok("loan", "show", "FEE")["credit"] == "300.00"


def test_a_remedy_needs_a_reason(paid_off: Ledger) -> None:
    assert_refused(paid_off, ["loan", "refund", "FEE", "1.00"], "--reason")
    assert_refused(paid_off, ["loan", "waive", "FEE", "--fee", "1.00"], "--reason")


def test_penalty_waived_after_it_was_paid_becomes_credit_used_by_the_next_morning(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """loan-rules section 12, the second example: a penalty of 4.13 paid on 2026-02-21 is
    waived; the credit pays 4.13 of installment 2's interest on its due morning."""
    monkeypatch.setenv("LEDGER_TODAY", "2026-03-20")
    ledger.ok("loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00",
              "--term", "12", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "PEN")  # fmt: skip
    ledger.ok("bank", "set-balance", "PEN", "0")
    ledger.ok("close-day", "--through", "2026-02-20")
    ledger.ok("loan", "repay", "PEN", "1104.29", "--on", "2026-02-21")
    waived = ledger.ok("loan", "waive", "PEN", "--penalty", "4.13", "--reason", "bank delay")
    assert (waived["forgiven"], waived["credited"], waived["credit"]) == ("0.00", "4.13", "4.13")
    assert ledger.ok("loan", "show", "PEN")["credit"] == "4.13"
    assert_verified_clean(ledger, "PEN")
    ledger.ok("close-day", "--through", "2026-03-15")
    shown = ledger.ok("loan", "show", "PEN")
    assert shown["credit"] == "0.00"
    assert ledger.ok("loan", "show", "PEN", "--as-of", "2026-03-14")["credit"] == "4.13"
    assert shown["amount_due"] == "1096.03"  # 1,100.16 - 4.13: what the deduction asked for
    assert_refused(ledger, ["loan", "refund", "PEN", "0.01", "--reason", "x"], "is 0.00")
    assert_verified_clean(ledger, "PEN")
