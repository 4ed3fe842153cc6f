"""Corrections without editing history (SQLite and PostgreSQL): back-dated repayments,
reversals, waivers; the business-time and the recorded-time views; verify and the projections
after corrections."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.read import views
from ledger.services import audit
from ledger.services.application import LedgerApp
from ledger.services.explain import explain
from ledger.services.products import terms_from_input
from projections import Projections
from projections.balances import shown as balance_shown
from tests.conftest import Ledger
from tests.interface.test_refused_commands_cli import assert_refused
from tests.store.test_audit import overwrite_state, stored_state

OPENED = date(2026, 1, 15)


def open_pair(
    app: LedgerApp, product: str, balance: Decimal | None, names: tuple[str, ...]
) -> None:
    for name in names:
        app.open_loan(
            terms_from_input(
                product=product,
                principal="12000.00",
                term=6,
                disbursed_on=OPENED,
                daily_rate="0.0005",
            ),
            name,
        )
        if balance is not None:
            app.set_balance(name, balance)


def same_balances(a: Any, b: Any) -> dict[str, tuple[Any, Any]]:
    sa, sb = views.loan_state(a), views.loan_state(b)
    return {k: (sa[k], sb[k]) for k in sa if k not in ("loan_id", "uuid") and sa[k] != sb[k]}


@pytest.mark.parametrize(
    ("product", "balance", "paid_on", "amount"),
    [
        ("repay_on_schedule", Decimal("500"), date(2026, 2, 20), Decimal("300.00")),
        ("equal_principal", Decimal("0"), date(2026, 2, 16), Decimal("2000.00")),
        ("interest_first", Decimal("100"), date(2026, 2, 16), Decimal("50.00")),
        ("mall_installment", Decimal("0"), date(2026, 3, 1), Decimal("500.00")),
    ],
)
def test_a_backdated_repayment_gives_the_balances_of_a_repayment_entered_on_time(
    app: LedgerApp, product: str, balance: Decimal | None, paid_on: date, amount: Decimal
) -> None:
    open_pair(app, product, balance, ("ONTIME", "LATE"))
    app.close_days(paid_on - timedelta(days=1))
    app.repay("ONTIME", amount, paid_on)
    app.close_days(date(2026, 4, 20))
    app.repay_backdated("LATE", amount, paid_on, actor="alice", reason="keyed in late")
    ontime, late = app.get_loan("ONTIME"), app.get_loan("LATE")
    assert same_balances(ontime, late) == {}
    assert ontime.installments == late.installments
    assert audit.verify_loan(app, "LATE").clean
    corrected = app.loan_events("LATE")[-1]
    assert type(corrected).__name__ == "Corrected"
    assert (corrected.actor, corrected.reason, corrected.effective_on) == (
        "alice",
        "keyed in late",
        paid_on,
    )
    assert corrected.supersedes and min(corrected.supersedes) > 1


def test_money_a_later_deduction_took_for_what_the_backdated_payment_had_paid_is_owed_back(
    app: LedgerApp,
) -> None:
    open_pair(app, "repay_on_schedule", Decimal("0"), ("ONTIME", "LATE"))
    app.close_days(date(2026, 2, 19))
    due = app.get_loan("ONTIME").amount_due
    app.repay("ONTIME", due, date(2026, 2, 20))
    app.close_days(date(2026, 2, 28))
    for name in ("ONTIME", "LATE"):
        app.set_balance(name, None)  # money arrives: the next deduction takes what is due
    app.close_days(date(2026, 3, 20))
    app.repay_backdated("LATE", due, date(2026, 2, 20), actor="a", reason="paid at the counter")
    ontime, late = app.get_loan("ONTIME"), app.get_loan("LATE")
    corrected = app.loan_events("LATE")[-1]
    # on 2026-03-15 LATE's account paid installment 1 again, with its penalty: owed back,
    # held as credit (loan-rules §12), the one balance where LATE differs from ONTIME
    assert same_balances(ontime, late) == {"credit": ("0.00", str(corrected.refund_due))}
    assert corrected.refund_due > due
    assert late.refunds_due == corrected.refund_due
    assert audit.verify_loan(app, "LATE").clean


def test_reversing_a_payment_then_entering_it_again_is_neutral(app: LedgerApp) -> None:
    open_pair(app, "repay_on_schedule", Decimal("800"), ("R",))
    app.close_days(date(2026, 2, 19))
    app.repay("R", Decimal("250.00"), date(2026, 2, 20))
    app.close_days(date(2026, 4, 1))
    before = app.get_loan("R").derived_state()
    repaid = next(e for e in app.loan_events("R") if type(e).__name__ == "Repaid")
    app.reverse("R", repaid.originator_version, actor="bob", reason="cheque bounced")
    bounced = app.get_loan("R")
    assert bounced.amount_due > Decimal(0) and bounced.penalty_paid < before["penalty_paid"] + 1
    assert bounced.principal_outstanding > before["principal_not_due"]
    app.repay_backdated(
        "R", Decimal("250.00"), date(2026, 2, 20), actor="bob", reason="re-presented"
    )
    after = app.get_loan("R").derived_state()
    assert after == before
    assert audit.verify_loan(app, "R").clean
    with pytest.raises(CommandRefused, match="already reversed"):
        app.reverse("R", repaid.originator_version, actor="bob", reason="again")


def test_a_reversed_deduction_turns_the_installment_overdue_with_penalty_from_its_day(
    app: LedgerApp,
) -> None:
    open_pair(app, "equal_principal", None, ("D",))
    app.close_days(date(2026, 3, 1))
    deducted = next(e for e in app.loan_events("D") if type(e).__name__ == "InstallmentDeducted")
    assert deducted.on == date(2026, 2, 15)
    app.reverse("D", deducted.originator_version, actor="ops", reason="direct debit returned")
    loan = app.get_loan("D")
    first = loan.installments[0]
    assert first.overdue_from == date(2026, 2, 16) and first.settled_on is None
    # penalty from Feb 16 through Mar 1 = 14 days on the unpaid installment
    assert (
        first.penalty_accrued
        == (first.principal + first.interest) * Decimal("0.0005") * Decimal("1.5") * 14
    )
    assert audit.verify_loan(app, "D").clean


def test_business_time_shows_the_corrected_past_and_recorded_time_what_was_known(
    app: LedgerApp,
) -> None:
    open_pair(app, "repay_on_schedule", Decimal("0"), ("T",))
    app.close_days(date(2026, 3, 10))
    before_correction = datetime.now(UTC)
    time.sleep(0.01)
    app.repay_backdated("T", Decimal("1000.00"), date(2026, 2, 20), actor="a", reason="late")
    day = date(2026, 2, 25)
    as_of = audit.loan_at(app, "T", as_of=day)  # business time: the payment counts from Feb 20
    known = audit.loan_at(app, "T", as_of=day, known_at=before_correction)  # what we knew
    assert as_of.principal_repaid > 0 and known.principal_repaid == 0
    assert as_of.amount_due < known.amount_due
    assert app.loan_as_of("T", day).principal_repaid == as_of.principal_repaid


def test_waivers_forgive_what_is_owed_and_give_back_only_what_was_paid(app: LedgerApp) -> None:
    open_pair(app, "equal_principal", Decimal("0"), ("W",))
    app.close_days(date(2026, 3, 1))
    loan = app.get_loan("W")
    penalty = sum((o.penalty for o in loan.owed()), Decimal(0))
    assert penalty > 0
    with pytest.raises(CommandRefused, match="cannot waive"):
        app.waive(
            "W", part="penalty", amount=penalty + Decimal("0.01"), on=None, actor="x", reason="r"
        )
    with pytest.raises(CommandRefused, match=r"cannot waive 1\.00 of fee: 0\.00 is owed and 0\.00"):
        app.waive("W", part="fee", amount=Decimal("1"), on=None, actor="x", reason="r")
    waived = app.waive("W", part="penalty", amount=penalty, on=None, actor="cs", reason="goodwill")
    assert sum((o.penalty for o in waived.owed()), Decimal(0)) == 0
    assert waived.penalty_paid == 0 and waived.penalty_waived == penalty
    assert audit.verify_loan(app, "W").clean


def test_projections_follow_corrections_and_waivers(app: LedgerApp) -> None:
    Projections(app).catch_up()
    open_pair(app, "repay_on_schedule", Decimal("300"), ("P1", "P2"))
    app.close_days(date(2026, 3, 20))
    app.repay_backdated("P1", Decimal("400.00"), date(2026, 2, 18), actor="a", reason="late")
    app.waive("P2", part="penalty", amount=Decimal("1.00"), on=None, actor="b", reason="goodwill")
    app.close_days(date(2026, 4, 20))
    projections = Projections(app, page=17)
    projections.catch_up()
    for ref in ("P1", "P2"):
        loan = app.get_loan(ref)
        row = projections.balances.read(loan.id)
        assert row is not None
        got, expected = balance_shown(row), views.loan_state(loan)
        assert {k: got[k] for k in expected} == expected
        for s in projections.statements.read(loan.id):
            flows = (
                s["disbursed"] + s["interest"] + s["penalty"] + s["fees"]
                - s["paid_total"] - s["waived"] + s["adjustments"]
            )  # fmt: skip
            assert s["closing_balance"] == s["opening_balance"] + flows, (ref, s["month"])
    p1 = {s["month"]: s for s in projections.statements.read(app.get_loan("P1").id)}
    assert p1["2026-04"]["adjustments"] < 0  # the back-dated payment lowered the balance
    p2 = {s["month"]: s for s in projections.statements.read(app.get_loan("P2").id)}
    assert p2["2026-04"]["waived"] == 100
    incremental = [p.dump() for p in projections.select()]
    projections.rebuild()
    assert [p.dump() for p in projections.select()] == incremental


def test_verify_catches_a_correction_whose_recorded_result_was_altered(app: LedgerApp) -> None:
    open_pair(app, "repay_on_schedule", Decimal("0"), ("V",))
    app.close_days(date(2026, 3, 10))
    app.repay_backdated("V", Decimal("500.00"), date(2026, 2, 20), actor="a", reason="late")
    loan = app.get_loan("V")
    state = stored_state(app, loan.id, loan.version)
    state["state"]["principal_not_due"] = {"#dec": "1.00"}
    overwrite_state(app, loan.id, loan.version, state)
    result = audit.verify_loan(app, "V")
    assert any(d.field == "state.principal_not_due" for d in result.discrepancies)
    assert result.broken_link is not None and result.broken_link[0] == loan.version


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["loan", "repay", "C", "100", "--on", "2026-02-20", "--backdated"], "--reason"),
        (["loan", "repay", "C", "100", "--on", "2026-02-20", "--reason", "x"], "with --backdated"),
        (["loan", "repay", "C", "100", "--on", "2026-05-01", "--backdated", "--reason", "x"],
         "not closed yet"),
        (["loan", "reverse", "C", "--event", "1", "--reason", "x"], "only a deduction or"),
        (["loan", "reverse", "C", "--event", "999", "--reason", "x"], "not one of its events"),
        (["loan", "waive", "C", "--penalty", "1", "--interest", "1", "--reason", "x"],
         "exactly one of"),
        (["loan", "waive", "C", "--fee", "1", "--reason", "x"], "cannot waive 1.00 of fee"),
        (["loan", "waive", "C", "--penalty", "999", "--reason", "x"], "cannot waive"),
        (["loan", "waive", "C", "--penalty", "1.001", "--reason", "x"], "--penalty"),
    ],
)  # fmt: skip
def test_refused_corrections_are_one_line_and_write_nothing(
    ledger: Ledger, args: list[str], needle: str
) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "C")  # fmt: skip
    ledger.ok("bank", "set-balance", "C", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    assert_refused(ledger, args, needle)


def test_corrections_through_the_cli_record_who_and_why(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_ACTOR", "complaints-desk")
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "1000.00")  # one person (test_approvals_cli)
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
              "--loan-id", "C")  # fmt: skip
    ledger.ok("bank", "set-balance", "C", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    done = ledger.ok("loan", "repay", "C", "500.00", "--on", "2026-02-15", "--backdated",
                     "--reason", "paid at the counter")  # fmt: skip
    assert (done["kind"], done["actor"], done["reason"]) == (
        "backdated_repayment",
        "complaints-desk",
        "paid at the counter",
    )
    assert "penalty_accrued" in done["differences"]["installments"]["1"]
    waived = ledger.ok("loan", "waive", "C", "--penalty", "0.10", "--reason", "goodwill",
                       "--actor", "supervisor")  # fmt: skip
    assert waived["actor"] == "supervisor"
    assert ledger.ok("audit", "verify", "--all")["clean"] is True
    events = ledger.ok("loan", "events", "C")
    assert events[0]["data"]["recorded_by"] == "complaints-desk"  # $LEDGER_ACTOR
    assert events[-1]["data"]["recorded_by"] == "supervisor"  # --actor


def test_explain_after_a_correction_uses_the_corrected_history_and_still_adds_up(
    app: LedgerApp,
) -> None:
    open_pair(app, "repay_on_schedule", Decimal("0"), ("E",))
    app.close_days(date(2026, 3, 5))
    known_before = datetime.now(UTC)
    time.sleep(0.01)
    app.repay_backdated("E", Decimal("1000.00"), date(2026, 2, 15), actor="a", reason="late")
    app.waive("E", part="penalty", amount=Decimal("0.10"), on=None, actor="b", reason="goodwill")
    now = explain(app, "E")
    assert now["adds_up"] and now["recomputed_from_corrected_facts"] is True
    penalty_lines = now["figures"]["penalty_accrued"]["lines"]
    assert (
        penalty_lines[-1]["event"] == "Waived (recomputed)" and penalty_lines[-1]["version"] is None
    )
    then = explain(app, "E", known_at=known_before)
    assert then["adds_up"] and then["recomputed_from_corrected_facts"] is False
    assert then["figures"]["principal_outstanding"]["figure"] == "12000.00"
    assert Decimal(now["figures"]["principal_outstanding"]["figure"]) < Decimal("12000.00")


def test_a_backdated_payment_of_everything_due_closes_a_loan_and_the_directory_knows(
    app: LedgerApp,
) -> None:
    app.open_loan(
        terms_from_input(
            product="equal_principal",
            principal="1000.00",
            term=1,
            disbursed_on=OPENED,
            daily_rate="0.0005",
        ),
        "Z",
    )
    app.set_balance("Z", Decimal("0"))
    app.close_days(date(2026, 2, 25))
    due_on_the_day = app.loan_as_of("Z", date(2026, 2, 15)).amount_due  # the one installment
    app.repay_backdated("Z", due_on_the_day, date(2026, 2, 15), actor="a", reason="paid in full")
    loan = app.get_loan("Z")
    assert loan.is_closed and loan.closed_on == date(2026, 2, 15)
    app.directory.catch_up()
    assert loan.id not in {e.loan_id for e in app.directory.open_loans_page(
        date(2026, 2, 26), after="", limit=100)}  # fmt: skip
    report = app.close_days(date(2026, 2, 27))
    assert report.loan_days == 0


def test_reversing_a_deduction_made_before_a_payoff_keeps_the_money_actually_paid(
    app: LedgerApp,
) -> None:
    """The payoff paid what it said on its day; without the bounced deduction more was due
    then, so the recomputed history may not pretend the borrower paid the bigger payoff: the
    money paid is applied as far as it goes and every fen received is accounted for (paid,
    or owed back). Found by the agreement test: the replay used to charge the new payoff."""
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="12000.00",
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    app.open_loan(terms, "BOUNCE")
    app.close_days(date(2026, 2, 16))  # the deduction of 2026-02-15 collected the installment
    _, quote = app.prepay("BOUNCE", date(2026, 2, 17))
    deduction = next(
        e for e in app.loan_events("BOUNCE") if isinstance(e, Loan.InstallmentDeducted)
    )
    corrected = app.reverse("BOUNCE", deduction.originator_version, actor="t", reason="bounced")
    received = quote.total  # the deduction was reversed: only the payoff's money arrived
    accounted = (
        corrected.principal_repaid
        + corrected.interest_paid
        + corrected.penalty_paid
        + corrected.fees_paid
        + corrected.refunds_due
    )
    assert accounted == received
    assert not corrected.is_closed  # the payoff no longer covers what was due: a balance is left
    # recorded for the loan's business date, the payoff's open day, not the day closed before
    # it (it used to be 2026-02-16, a date earlier than the event it follows)
    events = app.loan_events("BOUNCE")
    assert isinstance(events[-1], Loan.Corrected) and events[-1].on == date(2026, 2, 17)
    assert [e.on for e in events] == sorted(e.on for e in events)
