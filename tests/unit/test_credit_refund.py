"""Credit balance, waivers of paid charges and refunds (loan-rules §12), in memory: the rule
functions of :mod:`ledger.domain.credit` and the ``Loan`` aggregate's remedies, each checked
to the fen and replayed clean from its facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.domain import credit
from ledger.domain.business_day import advance_to, run_through
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.remedies import Remedies
from ledger.domain.replay import Fact, corrected_facts, facts_of, replay, run_facts
from ledger.services.products import terms_from_input

D = Decimal


class Bank:
    """The gateway as the business day sees it: an account holding ``balance``."""

    def __init__(self, balance: Decimal | None = None) -> None:
        self.balance = balance

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        if self.balance is None:
            return amount
        taken = min(amount, self.balance)
        self.balance -= taken
        return taken


def new_loan(product: str = "repay_on_schedule", principal: str = "12000.00") -> Loan:
    terms = terms_from_input(
        product=product,
        principal=principal,
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    return Loan.disburse(terms, loan_id=uuid4(), reference="C-TEST")


def paid_off_with_fee() -> Loan:
    """Section 8 example 2's kind of loan: 10,000.00, repay_on_schedule, paid off after 3
    days: interest 15.00, fee 300.00, payoff 10,315.00."""
    loan = new_loan(principal="10000.00")
    run_through(loan, date(2026, 1, 17), Bank())
    quote = loan.prepay(date(2026, 1, 18))
    assert (quote.interest, quote.fee, quote.total) == (D("15.00"), D("300.00"), D("10315.00"))
    return loan


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


# --------------------------------------------------------------------------- rule functions


def test_a_waiver_forgives_what_is_owed_first_and_gives_back_the_rest_of_what_was_paid() -> None:
    assert credit.split_waiver("penalty", D("5.00"), D("3.00"), D("4.00")) == credit.WaiverSplit(
        owed=D("3.00"), paid=D("2.00")
    )
    assert credit.split_waiver("penalty", D("2.00"), D("3.00"), D("4.00")).paid == 0
    assert credit.split_waiver("fee", D("300.00"), D("0"), D("300.00")).paid == D("300.00")


def test_a_waiver_of_more_than_owed_and_paid_is_refused() -> None:
    with pytest.raises(CommandRefused, match=r"cannot waive 7.01 of penalty: 3.00 is owed"):
        credit.split_waiver("penalty", D("7.01"), D("3.00"), D("4.00"))


def test_credit_that_arose_today_waits_for_the_next_morning() -> None:
    today = date(2026, 3, 1)
    assert credit.eligible_credit(D("10.00"), D("4.00"), today, today) == D("6.00")
    assert credit.eligible_credit(D("10.00"), D("4.00"), date(2026, 2, 28), today) == D("10.00")


def test_the_morning_uses_no_more_credit_than_is_due() -> None:
    assert credit.credit_to_apply(D("10.00"), D("4.50")) == D("4.50")
    assert credit.credit_to_apply(D("10.00"), D("40.00")) == D("10.00")
    assert credit.credit_to_apply(D("10.00"), D("0")) == 0


@pytest.mark.parametrize(
    ("amount", "needle"),
    [("0", "must be positive"), ("10.01", "credit owed to the borrower is 10.00"),
     ("1.001", "two decimal places")],
)  # fmt: skip
def test_a_refund_is_positive_whole_fen_and_at_most_the_credit(amount: str, needle: str) -> None:
    with pytest.raises(CommandRefused, match=needle):
        credit.check_refund(D(amount), D("10.00"))
    credit.check_refund(D("10.00"), D("10.00"))


# --------------------------------------------------------------------------- the aggregate


def test_a_paid_fee_waived_on_a_closed_loan_becomes_credit_and_the_loan_stays_closed() -> None:
    loan = paid_off_with_fee()
    loan.waive(date(2026, 1, 18), part="fee", amount=D("300.00"), actor="cs", reason="dispute")
    assert loan.is_closed and loan.credit == D("300.00") and loan.fees_credited == D("300.00")
    assert loan.figures().credit == D("300.00") and loan.balance == 0
    waived = loan.collect_events()[-1]
    assert isinstance(waived, Loan.PaidChargeWaived)
    assert (waived.paid, waived.credited_before, waived.credit_before, waived.credit_after) == (
        D("300.00"),
        D("0"),
        D("0"),
        D("300.00"),
    )


def test_a_fee_cannot_be_given_back_twice() -> None:
    loan = paid_off_with_fee()
    loan.waive(date(2026, 1, 18), part="fee", amount=D("200.00"), actor="cs", reason="dispute")
    with pytest.raises(CommandRefused, match=r"100\.00 was paid and not yet given back"):
        loan.waive(date(2026, 1, 18), part="fee", amount=D("100.01"), actor="cs", reason="again")


def test_a_refund_pays_out_at_most_the_credit_and_a_refused_one_triggers_nothing() -> None:
    loan = paid_off_with_fee()
    loan.waive(date(2026, 1, 18), part="fee", amount=D("300.00"), actor="cs", reason="dispute")
    before = len(loan.pending_events)
    with pytest.raises(CommandRefused, match=r"cannot refund 300\.01"):
        loan.refund(date(2026, 1, 20), amount=D("300.01"), actor="cs", reason="too much")
    assert len(loan.pending_events) == before
    loan.refund(date(2026, 1, 20), amount=D("120.00"), actor="cs", reason="part")
    loan.refund(date(2026, 1, 20), amount=D("180.00"), actor="cs", reason="rest")
    assert (loan.credit, loan.refunded, loan.is_closed) == (D("0"), D("300.00"), True)
    assert replay(loan.collect_events()).discrepancies == []


def test_a_remedy_on_a_closed_loan_is_not_dated_before_its_last_event() -> None:
    loan = paid_off_with_fee()
    with pytest.raises(CommandRefused, match="dated 2026-01-18 or later"):
        loan.waive(date(2026, 1, 17), part="fee", amount=D("1.00"), actor="cs", reason="x")


def test_paid_penalty_waived_becomes_credit_used_before_the_next_installments_deduction() -> None:
    loan = new_loan()
    run_through(loan, date(2026, 2, 20), Bank(D(0)))  # installment 1 overdue from 02-16
    advance_to(loan, date(2026, 2, 21), Bank(D(0)))
    penalty = loan.penalty_owed
    assert penalty == D("4.13")  # round(5 days x 1,100.16 x 0.0005 x 1.5) = round(4.1256)
    loan.repay(date(2026, 2, 21), loan.amount_due)
    loan.waive(date(2026, 2, 21), part="penalty", amount=penalty, actor="cs", reason="dispute")
    assert loan.credit == penalty and loan.penalty_waived == 0
    run_through(loan, date(2026, 3, 15), Bank())
    events: list[Any] = list(loan.collect_events())
    applied = [e for e in events if isinstance(e, Loan.CreditApplied)]
    assert len(applied) == 1 and applied[0].on == date(2026, 3, 15)
    a = applied[0]
    assert (a.credit_before, a.eligible, a.applied) == (penalty, penalty, penalty)
    assert a.credit_after == 0
    assert a.allocations == [
        {"k": 2, "penalty": D("0.00"), "interest": penalty, "principal": D("0.00")}
    ]
    deducted = next(e for e in events if isinstance(e, Loan.InstallmentDeducted))
    assert deducted.on == date(2026, 3, 15) and deducted.requested == a.amount_due - penalty
    assert kinds(events).index("CreditApplied") < kinds(events).index("InstallmentDeducted")
    assert replay(events).discrepancies == []


def test_a_waiver_of_owed_and_paid_penalty_records_both_parts() -> None:
    loan = new_loan()
    run_through(loan, date(2026, 2, 20), Bank(D(0)))
    advance_to(loan, date(2026, 2, 21), Bank(D(0)))
    loan.repay(date(2026, 2, 21), D("1.00"))  # pays 1.00 of the penalty
    owed = loan.penalty_owed
    loan.waive(date(2026, 2, 21), part="penalty", amount=owed + D("1.00"), actor="cs", reason="x")
    waived, credited = loan.collect_events()[-2:]
    assert isinstance(waived, Loan.Waived) and waived.amount == owed
    assert isinstance(credited, Loan.PaidChargeWaived) and credited.amount == D("1.00")
    assert loan.penalty_owed == 0 and loan.credit == D("1.00")


def test_money_a_recomputed_history_does_not_need_is_held_as_credit_and_used_next_morning() -> None:
    loan = new_loan()
    run_through(loan, date(2026, 2, 13), Bank())
    recorded = loan.collect_events()
    facts = facts_of(recorded)  # every day through 2026-02-13
    facts += [Fact("repayment", date(2026, 2, 14), D("50.00"))]  # nothing due yet: all unused
    facts += [Fact("day", date(2026, 2, 14))]
    facts += [Fact("deduction", date(2026, 2, 15), D("1100.16")), Fact("day", date(2026, 2, 15))]
    run = run_facts(recorded[0], facts)
    held = [e for e in run.events if isinstance(e, Loan.OverpaymentHeld)]
    assert [(e.on, e.received, e.used, e.amount) for e in held] == [
        (date(2026, 2, 14), D("50.00"), D("0"), D("50.00")),
        (date(2026, 2, 15), D("1100.16"), D("1050.16"), D("50.00")),
    ]
    applied = [e for e in run.events if isinstance(e, Loan.CreditApplied)]
    assert [(e.on, e.applied) for e in applied] == [(date(2026, 2, 15), D("50.00"))]
    # received 50.00 + 1,100.16, used 1,100.16: 50.00 not used, held (counted once)
    assert run.refund_due == D("50.00") and run.loan.credit == D("50.00")


def test_interest_a_payoff_charged_can_be_waived_into_credit_but_not_twice() -> None:
    loan = paid_off_with_fee()  # interest 15.00 paid with the payoff
    with pytest.raises(CommandRefused, match=r"0\.00 is owed and 15\.00 was paid"):
        loan.waive(date(2026, 1, 18), part="interest", amount=D("15.01"), actor="cs", reason="x")
    loan.waive(date(2026, 1, 18), part="interest", amount=D("15.00"), actor="cs", reason="x")
    assert (loan.credit, loan.interest_credited, loan.interest_paid) == (D("15.00"),) * 3
    with pytest.raises(CommandRefused, match=r"0\.00 was paid and not yet given back"):
        loan.waive(date(2026, 1, 18), part="interest", amount=D("0.01"), actor="cs", reason="x")
    assert replay(loan.collect_events()).discrepancies == []


def test_a_loan_without_credit_records_nothing_on_its_mornings() -> None:
    loan = new_loan()
    run_through(loan, date(2026, 3, 20), Bank())
    assert not [e for e in loan.collect_events() if isinstance(e, Loan.CreditApplied)]


def test_without_credit_rules_money_not_needed_is_counted_as_owed_back_never_held() -> None:
    """A correction recorded before section 12 (``credit_rules`` false) recomputed its
    history without credit: the same facts give the same ``refund_due``, no credit."""
    loan = new_loan()
    run_through(loan, date(2026, 2, 20), Bank(D(0)))
    advance_to(loan, date(2026, 2, 21), Bank(D(0)))
    due = loan.amount_due
    loan.repay(date(2026, 2, 21), due)
    run_through(loan, date(2026, 3, 20), Bank())
    events = loan.collect_events()
    facts = [*facts_of(events), Fact("repayment", date(2026, 3, 20), D("50.00"))]
    facts.sort(key=lambda f: (f.on, f.kind == "day"))
    held = run_facts(events[0], facts)
    before = run_facts(events[0], facts, credit_rules=False)
    assert held.refund_due == before.refund_due == D("50.00")
    assert held.loan.credit == D("50.00") and before.loan.credit == 0
    assert before.state()["refunds_due"] == D("50.00")
    assert kinds(before.events).count("OverpaymentHeld") == 0


def test_a_correction_recorded_before_credit_reads_as_without_credit_rules() -> None:
    state: dict[str, Any] = {"class_version": 3}
    Loan.Corrected.upcast_v3_v4(state)
    Loan.Corrected.upcast_v4_v5(state)
    assert state["credit_rules"] is False and state["waivers_not_reproduced"] == []
    assert Loan.Corrected.class_version == 5


def penalty_paid_then_given_back() -> tuple[Loan, list[Any]]:
    """Installment 1's penalty 4.13 paid by a repayment on 2026-02-21, then waived: all of
    it given back as credit (``PaidChargeWaived``)."""
    loan = new_loan()
    run_through(loan, date(2026, 2, 20), Bank(D(0)))
    advance_to(loan, date(2026, 2, 21), Bank(D(0)))
    loan.repay(date(2026, 2, 21), loan.amount_due)
    loan.waive(date(2026, 2, 21), part="penalty", amount=D("4.13"), actor="cs", reason="x")
    events = list(loan.collect_events())
    assert kinds(events)[-1] == "PaidChargeWaived"
    return loan, events


def test_the_paid_part_of_a_waiver_gives_back_no_more_than_the_recomputed_history_paid() -> None:
    """The repayment that paid the penalty bounced: recomputed, nothing of the penalty was
    paid, so the waiver's paid part gives back nothing (no credit), forgives nothing owed
    either, and is listed as not reproduced."""
    _, events = penalty_paid_then_given_back()
    repaid = next(e for e in events if isinstance(e, Loan.Repaid))
    waived = events[-1]
    reversal = SimpleNamespace(kind="reversal", reverses=repaid.originator_version)
    run = run_facts(events[0], corrected_facts(facts_of(events), reversal))
    assert run.loan.credit == 0 and run.loan.penalty_credited == 0
    assert "PaidChargeWaived" not in kinds(run.events) and "Waived" not in kinds(run.events)
    assert run.unreproduced == [
        {
            "event": waived.originator_version,
            "on": date(2026, 2, 21),
            "part": "penalty",
            "of": "paid",
            "recorded": D("4.13"),
            "reproduced": D("0"),
        }
    ]


@pytest.mark.parametrize("listed", [True, False])
def test_verify_checks_the_waivers_a_correction_lists_as_not_reproduced(listed: bool) -> None:
    loan, events = penalty_paid_then_given_back()
    repaid = next(e for e in events if isinstance(e, Loan.Repaid))
    reversal = SimpleNamespace(kind="reversal", reverses=repaid.originator_version)
    run = run_facts(events[0], corrected_facts(facts_of(events), reversal))
    loan.correct(
        loan.as_of,
        kind="reversal",
        effective_on=repaid.on,
        amount=None,
        reverses=repaid.originator_version,
        supersedes=[],
        refund_due=run.refund_due - loan.refunds_due,
        corrected=run.loan,
        actor="ops",
        reason="bounced",
        waivers_not_reproduced=run.unreproduced if listed else [],
    )
    found = [d.field for d in replay([*events, *loan.collect_events()]).discrepancies]
    assert found == ([] if listed else ["waivers_not_reproduced"])


def test_verify_reports_a_morning_that_did_not_use_the_credit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The replay runs each day's morning as live does (fix what falls due, use the credit)
    before the day's events, so a history whose mornings forgot the credit does not verify."""
    loan, events = penalty_paid_then_given_back()
    with monkeypatch.context() as forgetful:
        forgetful.setattr(Remedies, "apply_credit", lambda self, on: None)
        run_through(loan, date(2026, 4, 20), Bank())
    events += loan.collect_events()
    assert "CreditApplied" not in kinds(events) and loan.credit == D("4.13")
    found = replay(events).discrepancies
    assert found and (found[0].event, found[0].field) == ("InstallmentDeducted", "type")
    assert (found[0].recorded, found[0].recomputed) == ("InstallmentDeducted", "CreditApplied")
    assert found[0].version == next(
        e.originator_version for e in events if isinstance(e, Loan.InstallmentDeducted)
    )


def test_a_waiver_the_recomputed_history_refuses_is_listed_not_dropped() -> None:
    """A waiver fact that the recomputed loan refuses outright (here: dated on a day that is
    already closed in that history) still appears in ``unreproduced``, reproduced 0."""
    _, events = penalty_paid_then_given_back()
    facts = facts_of(events)
    waiver = facts.pop()
    assert waiver.kind == "paid_waiver"
    facts.append(Fact("day", waiver.on))  # the day closes before the waiver
    facts.append(waiver)
    run = run_facts(events[0], facts)
    assert run.loan.credit == 0
    assert [(u["of"], u["recorded"], u["reproduced"]) for u in run.unreproduced] == [
        ("paid", D("4.13"), D("0"))
    ]
