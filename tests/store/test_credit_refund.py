"""Credit balance, waivers of paid charges and refunds (loan-rules §12) on SQLite and
PostgreSQL: each remedy's effect on the balances to the fen, in the aggregate and the read
models; refunds paid into the simulated bank's account; a refused remedy writes no event; and
``ledger audit verify`` replays clean after every remedy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.account import LinkedAccount, account_id_for
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.remedies import Remedies
from ledger.read import views
from ledger.services import audit
from ledger.services.application import LedgerApp
from ledger.services.explain import explain
from ledger.services.products import terms_from_input
from projections import Projections

D = Decimal


def open_loan(app: LedgerApp, ref: str, *, principal: str, term: int, on: date) -> None:
    terms = terms_from_input(
        product="repay_on_schedule",
        principal=principal,
        term=term,
        disbursed_on=on,
        daily_rate="0.0005",
    )
    app.open_loan(terms, ref)


def event_count(app: LedgerApp) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10**9))


def account_balance(app: LedgerApp, ref: str) -> Decimal | None:
    account: Any = app.repository.get(account_id_for(app.get_loan(ref).id))
    assert isinstance(account, LinkedAccount)
    return account.balance


def clean(app: LedgerApp, ref: str) -> bool:
    result = audit.verify_loan(app, ref)
    assert result.discrepancies == [], result.discrepancies
    return result.clean


def read_models(app: LedgerApp, ref: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The balances row and the statements (by month) of a loan, caught up."""
    projections = Projections(app)
    projections.catch_up()
    loan_id = app.get_loan(ref).id
    row = projections.balances.read(loan_id)
    assert row is not None
    return row, {s["month"]: s for s in projections.statements.read(loan_id)}


def test_a_paid_prepayment_fee_waived_on_a_closed_loan_is_credit_refunded_up_to_the_credit(
    app: LedgerApp,
) -> None:
    """Section 8 example 2 (payoff 10,315.00 with a fee of 300.00), then the fee disputed."""
    open_loan(app, "FEE", principal="10000.00", term=6, on=date(2026, 1, 1))
    app.set_balance("FEE", D("500.00"))
    app.close_days(date(2026, 1, 3))
    _, quote = app.prepay("FEE", date(2026, 1, 4))
    assert (quote.fee, quote.total) == (D("300.00"), D("10315.00"))
    loan = app.waive("FEE", part="fee", amount=D("300.00"), on=None, actor="cs", reason="upheld")
    assert loan.is_closed and loan.closed_on == date(2026, 1, 4)
    assert (loan.credit, loan.fees_paid, loan.fees_credited) == (
        D("300.00"),
        D("300.00"),
        D("300.00"),
    )
    assert loan.balance == 0 and clean(app, "FEE")
    row, _ = read_models(app, "FEE")
    assert (row["status"], row["credit"], row["fees_paid"]) == ("closed", 30000, 30000)

    written = event_count(app)
    with pytest.raises(CommandRefused, match=r"cannot refund 300\.01: the credit .* is 300\.00"):
        app.refund("FEE", D("300.01"), on=date(2026, 1, 5), actor="cs", reason="too much")
    with pytest.raises(CommandRefused, match=r"cannot waive 0\.01 of fee: 0\.00 is owed and 0\.00"):
        app.waive("FEE", part="fee", amount=D("0.01"), on=None, actor="cs", reason="again")
    assert event_count(app) == written

    app.refund("FEE", D("120.00"), on=date(2026, 1, 5), actor="cs", reason="first part")
    assert app.get_loan("FEE").credit == D("180.00") and clean(app, "FEE")
    assert account_balance(app, "FEE") == D("620.00")  # the simulated bank paid it in
    loan = app.refund("FEE", D("180.00"), on=date(2026, 1, 6), actor="cs", reason="the rest")
    assert (loan.credit, loan.refunded, loan.is_closed) == (D("0.00"), D("300.00"), True)
    assert account_balance(app, "FEE") == D("800.00") and clean(app, "FEE")
    row, statements = read_models(app, "FEE")
    assert (row["status"], row["credit"]) == ("closed", 0)
    cycle = statements["2026-02"]
    assert (cycle["credit_added"], cycle["refunds"], cycle["credit"]) == (30000, 30000, 0)
    lines = explain(app, "FEE")["figures"]["credit"]
    assert lines["adds_up"] and [x["amount"] for x in lines["lines"]] == [
        "300.00",
        "-120.00",
        "-180.00",
    ]


def test_paid_penalty_waived_becomes_credit_that_the_next_morning_uses_before_its_deduction(
    app: LedgerApp,
) -> None:
    """Installment 1 of 1,100.16 (914.16 + 186.00) unpaid from 2026-02-15: penalty through
    02-20 = round(5 x 1,100.16 x 0.0005 x 1.5) = round(4.1256) = 4.13. Repaid on 02-21, then
    the penalty waived: 4.13 of credit. Installment 2 (03-15): interest 6.00 + 5 x 5.54292 +
    22 x 5.54292 = 155.65884 -> 155.66, principal 944.50; the credit pays 4.13 of its interest,
    the deduction the other 1,096.03."""
    open_loan(app, "PEN", principal="12000.00", term=12, on=date(2026, 1, 15))
    app.set_balance("PEN", D("0"))
    app.close_days(date(2026, 2, 20))
    loan, _ = app.repay("PEN", D("1104.29"), date(2026, 2, 21))
    assert loan.penalty_paid == D("4.13") and loan.amount_due == 0
    written = event_count(app)
    with pytest.raises(CommandRefused, match=r"cannot waive 4\.14 of penalty"):
        app.waive("PEN", part="penalty", amount=D("4.14"), on=None, actor="cs", reason="x")
    assert event_count(app) == written
    loan = app.waive("PEN", part="penalty", amount=D("4.13"), on=None, actor="cs", reason="x")
    assert (loan.credit, loan.penalty_credited, loan.penalty_paid) == (D("4.13"),) * 3
    assert clean(app, "PEN")
    app.set_balance("PEN", None)
    app.close_days(date(2026, 3, 15))
    events = app.loan_events("PEN")
    applied = [e for e in events if isinstance(e, Loan.CreditApplied)]
    assert [(e.on, e.amount_due, e.applied, e.credit_after) for e in applied] == [
        (date(2026, 3, 15), D("1100.16"), D("4.13"), D("0.00"))
    ]
    assert applied[0].allocations == [
        {"k": 2, "penalty": D("0.00"), "interest": D("4.13"), "principal": D("0.00")}
    ]
    deducted = [e for e in events if isinstance(e, Loan.InstallmentDeducted)]
    assert (deducted[-1].on, deducted[-1].requested) == (date(2026, 3, 15), D("1096.03"))
    loan = app.get_loan("PEN")
    assert (loan.credit, loan.amount_due, loan.interest_paid) == (D("0.00"), D("0"), D("341.66"))
    assert clean(app, "PEN")
    row, statements = read_models(app, "PEN")
    assert (row["credit"], row["interest_paid"], row["amount_due"]) == (0, 34166, 0)
    cycle = statements["2026-03"]
    assert (cycle["credit_added"], cycle["credit_applied_interest"], cycle["credit"]) == (
        413,
        413,
        0,
    )
    assert explain(app, "PEN")["adds_up"]


def test_a_corrections_refund_due_becomes_credit_used_by_the_next_morning_with_an_amount_due(
    app: LedgerApp,
) -> None:
    """The back-dated repayment of test_corrections: LATE's deduction of 2026-03-15 paid
    installment 1 again (with its penalty). That money is now credit, held from 03-15, and the
    morning of 04-15 uses it before the deduction; LATE ends with ONTIME's balances, and the
    credit left."""
    for ref in ("ONTIME", "LATE"):
        open_loan(app, ref, principal="12000.00", term=6, on=date(2026, 1, 15))
        app.set_balance(ref, D("0"))
    app.close_days(date(2026, 2, 19))
    due = app.get_loan("ONTIME").amount_due
    app.repay("ONTIME", due, date(2026, 2, 20))
    app.close_days(date(2026, 2, 28))
    for ref in ("ONTIME", "LATE"):
        app.set_balance(ref, None)
    app.close_days(date(2026, 3, 20))
    late = app.repay_backdated("LATE", due, date(2026, 2, 20), actor="a", reason="at the counter")
    corrected = app.loan_events("LATE")[-1]
    assert isinstance(corrected, Loan.Corrected) and corrected.refund_due > due
    assert late.credit == corrected.refund_due == corrected.state["credit"]
    assert late.credit_new_on == date(2026, 3, 15) and clean(app, "LATE")
    assert views.loan_state(late)["amount_due"] == "0.00"

    app.close_days(date(2026, 4, 15))
    late, ontime = app.get_loan("LATE"), app.get_loan("ONTIME")
    applied = [e for e in app.loan_events("LATE") if isinstance(e, Loan.CreditApplied)]
    assert [(e.on, e.credit_before) for e in applied] == [(date(2026, 4, 15), corrected.refund_due)]
    installment_3 = ontime.installments[2]
    assert applied[0].amount_due == installment_3.principal + installment_3.interest
    used = min(corrected.refund_due, applied[0].amount_due)
    assert (applied[0].applied, late.credit) == (used, corrected.refund_due - used)
    a, b = views.loan_state(ontime), views.loan_state(late)
    differ = {k: (a[k], b[k]) for k in a if k not in ("loan_id", "uuid") and a[k] != b[k]}
    assert differ == {"credit": ("0.00", str(late.credit))}  # the credit not used yet
    assert clean(app, "LATE")
    row, statements = read_models(app, "LATE")
    assert row["credit"] == int(late.credit * 100)
    cycle = statements["2026-04"]
    applied_fen = sum(cycle[f"credit_applied_{p}"] for p in ("penalty", "interest", "principal"))
    assert cycle["credit_added"] == int(corrected.refund_due * 100)
    assert cycle["credit"] == cycle["credit_added"] - applied_fen - cycle["refunds"]
    explained = explain(app, "LATE")  # held 03-01, used 03-15, held again 03-15, used 04-15
    assert explained["adds_up"] and explained["figures"]["credit"]["figure"] == str(late.credit)
    assert [x["event"] for x in explained["figures"]["credit"]["lines"]] == [
        "OverpaymentHeld (recomputed)",
        "CreditApplied (recomputed)",
        "OverpaymentHeld (recomputed)",
        "CreditApplied (recomputed)",  # 04-15: every line of a corrected loan is recomputed
    ]


def test_credit_refunded_before_a_morning_with_an_amount_due_is_not_used_and_stays_funded(
    app: LedgerApp,
) -> None:
    for ref in ("LATE",):
        open_loan(app, ref, principal="12000.00", term=6, on=date(2026, 1, 15))
        app.set_balance(ref, D("0"))
    app.close_days(date(2026, 2, 19))
    due = app.get_loan("LATE").amount_due
    app.close_days(date(2026, 2, 28))
    app.set_balance("LATE", D("100000.00"))
    app.close_days(date(2026, 3, 20))
    late = app.repay_backdated("LATE", due, date(2026, 2, 20), actor="a", reason="at the counter")
    credit = late.credit
    assert credit > 0
    balance = account_balance(app, "LATE")
    assert balance is not None
    late = app.refund("LATE", credit, on=None, actor="cs", reason="paid back")  # on 03-21
    assert late.credit == 0 and account_balance(app, "LATE") == balance + credit
    assert clean(app, "LATE")
    app.close_days(date(2026, 4, 15))
    assert not [e for e in app.loan_events("LATE") if isinstance(e, Loan.CreditApplied)]
    # reversing the deduction whose money the refund paid back would leave the refund unfunded
    deduction = next(
        e
        for e in app.loan_events("LATE")
        if isinstance(e, Loan.InstallmentDeducted) and e.on == date(2026, 3, 15)
    )
    written = event_count(app)
    with pytest.raises(CommandRefused, match="does not hold the credit that the refund"):
        app.reverse("LATE", deduction.originator_version, actor="ops", reason="bounced")
    assert event_count(app) == written and clean(app, "LATE")


def test_a_waiver_of_an_owed_charge_never_becomes_refundable_credit_in_a_correction(
    app: LedgerApp,
) -> None:
    """Installment 1 and its penalty 4.13 were paid late; installment 2's penalty (owed) was
    waived. A repayment back-dated to installment 2's due date means that penalty never
    accrued: the waiver's owed part forgives nothing (it is not re-split into a give-back of
    installment 1's paid penalty, which would be credit the borrower could take out), and the
    correction records that the waiver was not reproduced."""
    open_loan(app, "W", principal="12000.00", term=12, on=date(2026, 1, 15))
    app.set_balance("W", D("0"))
    app.close_days(date(2026, 2, 20))
    app.repay("W", D("1104.29"), date(2026, 2, 21))  # installment 1 with its penalty 4.13
    app.close_days(date(2026, 3, 20))  # installment 2 overdue from 03-16
    owed = app.get_loan("W").penalty_owed
    loan = app.waive("W", part="penalty", amount=owed, on=None, actor="cs", reason="goodwill")
    waived = app.loan_events("W")[-1]
    assert isinstance(waived, Loan.Waived) and loan.penalty_paid == D("4.13")
    part = loan.installments[1]
    loan = app.repay_backdated(
        "W", part.principal + part.interest, date(2026, 3, 15), actor="a", reason="on time"
    )
    corrected = app.loan_events("W")[-1]
    assert isinstance(corrected, Loan.Corrected)
    assert (loan.credit, loan.penalty_credited, loan.penalty_waived) == (D(0), D(0), D(0))
    assert corrected.refund_due == 0 and corrected.state["credit"] == 0
    assert corrected.waivers_not_reproduced == [
        {
            "event": waived.originator_version,
            "on": waived.on,
            "part": "penalty",
            "of": "owed",
            "recorded": owed,
            "reproduced": D("0"),
        }
    ]
    assert clean(app, "W")
    shown = views.correction(loan, corrected)  # what the CLI and the API answer
    assert shown["credit"] == "0.00"
    assert shown["waivers_not_reproduced"] == [
        {"event": waived.originator_version, "on": str(waived.on), "part": "penalty",
         "of": "owed", "recorded": str(owed), "reproduced": "0"}
    ]  # fmt: skip
    count = event_count(app)
    with pytest.raises(CommandRefused, match=r"the credit owed to the borrower is 0\.00"):
        app.refund("W", D("0.01"), on=None, actor="cs", reason="pay out")
    assert event_count(app) == count


def test_verify_reports_a_stored_history_whose_morning_did_not_use_the_credit(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paid penalty waived into credit, then days closed by a morning that forgot the
    credit (as a faulty release would): the events are sealed and look routine, but verify
    runs the morning as live must and names the deduction where CreditApplied belonged."""
    open_loan(app, "F", principal="12000.00", term=12, on=date(2026, 1, 15))
    app.set_balance("F", D("0"))
    app.close_days(date(2026, 2, 20))
    app.repay("F", D("1104.29"), date(2026, 2, 21))  # installment 1 with its penalty 4.13
    app.waive("F", part="penalty", amount=D("4.13"), on=None, actor="cs", reason="goodwill")
    app.set_balance("F", None)
    assert clean(app, "F") and app.get_loan("F").credit == D("4.13")
    with monkeypatch.context() as forgetful:
        forgetful.setattr(Remedies, "apply_credit", lambda self, on: None)
        app.close_days(date(2026, 3, 20))
    assert not any(isinstance(e, Loan.CreditApplied) for e in app.loan_events("F"))
    result = audit.verify_loan(app, "F")
    assert not result.clean and result.broken_link is None
    first = result.discrepancies[0]
    assert (first.event, first.field, first.recomputed) == (
        "InstallmentDeducted",
        "type",
        "CreditApplied",
    )
