"""Replay a loan from its facts with the rules, independently of the amounts it recorded.

The **facts** of a loan are what came from outside: its terms and disbursement, the business
days that ran, the money each morning deduction collected (or that it collected nothing), the
amount of each repayment, the amount and re-plan choice of each prepayment, waivers, each
restructuring's new term or rate (§16), and corrections (a back-dated repayment, a reversed
payment). Everything else (EMI, installment parts, allocations, daily accruals, penalties,
overdue marks, fees, closing) is derived.

- :func:`replay` drives a fresh :class:`~ledger.domain.loan.Loan` through the same commands,
  event by event, and compares every event it derives with the one recorded, field by field;
  at a ``Corrected`` event it recomputes the loan from the corrected facts
  (:func:`run_facts`) and compares the state the correction recorded. That is
  ``ledger audit verify``.
- :func:`run_facts` runs a list of facts, optionally under other terms (what-if) or up to a
  business day (the business-time view of a corrected loan). Money a fact brings that the
  replayed loan does not owe is not forced on it: it is counted as ``refund_due`` and held
  as credit for the borrower (loan-rules §12), used on the next morning like any credit.
  A history whose latest correction was recorded before credit existed (``Corrected``
  read with ``credit_rules`` false, :func:`credit_rules_of`) is recomputed as it was then:
  that money is counted in ``refund_due`` only, never held as credit, and a waiver forgives
  what is owed or nothing; its recorded figures do not move.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.business_day import (
    OneCollection,
    before_deduction,
    run_end_of_day,
    run_morning,
)
from ledger.domain.chain import unlinked
from ledger.domain.discrepancies import Discrepancy, compare, compare_state
from ledger.domain.errors import CommandRefused
from ledger.domain.facts import Fact, corrected_facts, credit_rules_of, fact_of, facts_of
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.terms import Replan, Terms

__all__ = [
    "Discrepancy",
    "Fact",
    "Run",
    "corrected_facts",
    "credit_rules_of",
    "fact_of",
    "facts_of",
    "replay",
    "run_facts",
    "terms_of",
]


@dataclass
class Run:
    loan: Loan
    events: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused_refunds: list[Fact] = field(default_factory=list)  # more than the credit then
    credit_rules: bool = True  # section 12 (false: as recomputed before credit existed)
    unheld: Decimal = ZERO  # without credit rules: money not needed, counted, not held
    # recorded waivers the recomputed history forgives or gives back less of (_remedy)
    unreproduced: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refund_due(self) -> Decimal:
        """Money received that the history did not use: held as credit when it arrived
        (section 12), less the credit used since (``LoanState.refunds_due``); without credit
        rules, all of it (never held)."""
        return self.loan.refunds_due + self.unheld

    def state(self) -> dict[str, Any]:
        """What a correction recomputed from these facts records as its ``state``."""
        return {**self.loan.derived_state(), "refunds_due": self.refund_due}


def terms_of(disbursed: Any) -> Terms:
    return Terms.from_event_fields({**disbursed.terms, "disbursed_on": disbursed.on})


def run_facts(
    disbursed: Any,
    facts: Sequence[Fact],
    *,
    terms: Terms | None = None,
    until: date | None = None,
    credit_rules: bool = True,
) -> Run:
    """A fresh loan run through ``facts`` (those up to ``until``), under ``terms`` (default:
    its own). Money that the loan does not owe when it arrives is counted in ``refund_due``
    and held as credit (section 12); without ``credit_rules`` (a history corrected before
    credit existed), only counted."""
    loan = Loan.disburse(
        terms or terms_of(disbursed), loan_id=disbursed.originator_id, reference=disbursed.reference
    )
    run = Run(loan, list(loan.collect_events()), credit_rules=credit_rules)
    for fact in facts:
        if until is not None and fact.on > until:
            break
        if fact.kind == "recorded":  # a correction's own day: the figures belong to it
            loan.last_event_on = max(loan.last_event_on, fact.on)
            continue
        money = fact.amount or ZERO
        try:
            if loan.is_closed:
                unused = _after_closing(loan, fact, money, run)
            else:
                unused = _run_fact(loan, fact, money, run)
        except CommandRefused as refused:
            run.notes.append(f"{fact.kind} on {fact.on}: {refused}")
            if fact.kind == "refund":
                run.refused_refunds.append(fact)
            _list_unreproduced(run, fact, money, ZERO)  # a refused waiver is not dropped
            unused = ZERO
        if unused > ZERO and credit_rules:
            loan.hold_overpayment(fact.on, source=fact.kind, received=money, used=money - unused)
        elif unused > ZERO:
            run.unheld += unused  # as before credit existed: owed back, not held
        run.events.extend(loan.collect_events())
    return run


def _after_closing(loan: Loan, fact: Fact, money: Decimal, run: Run) -> Decimal:
    """A fact after the loan closed: money that arrives is not needed (held as credit); a
    waiver can give back paid charges and a refund pay credit out (section 12)."""
    if fact.kind in ("deduction", "repayment", "prepayment"):
        if money > ZERO:
            run.notes.append(f"{fact.kind} of {fmt(money)} on {fact.on}: the loan was closed")
        return money
    _remedy(loan, fact, money, run)
    return ZERO


def _remedy(loan: Loan, fact: Fact, money: Decimal, run: Run) -> None:
    """A waiver or a refund in a recomputed history (section 12). A waiver is two facts: its
    owed part (``Waived``) forgives at most what is owed now and never creates credit; its
    paid part (``PaidChargeWaived``) gives back at most what was paid and not given back. What
    the recomputed history cannot reproduce of either is listed in ``run.unreproduced`` (the
    correction records it). Without credit rules, an owed part not owed in full forgives
    nothing, as before credit existed."""
    part, actor, reason = str(fact.part), fact.actor, fact.reason
    if fact.kind == "refund":
        loan.refund(fact.on, amount=money, actor=actor, reason=reason)
        return
    if fact.kind == "write_off":  # section 14
        loan.write_off(fact.on, actor=actor, reason=reason)
    elif fact.kind == "recovery":
        loan.recover(fact.on, amount=money, actor=actor, reason=reason)
    elif fact.kind == "restructure":  # section 16
        asked: dict[str, Any] = {"term": fact.term, "rate": fact.rate, "holiday": fact.holiday}
        loan.restructure(fact.on, **asked, actor=actor, reason=reason)
    if fact.kind not in ("waiver", "paid_waiver"):
        return
    if fact.kind == "waiver":
        done = loan.replay_owed_waiver(
            fact.on, part=part, amount=money, actor=actor, reason=reason, up_to=run.credit_rules
        )
    else:
        done = loan.replay_paid_waiver(fact.on, part=part, amount=money, actor=actor, reason=reason)
    _list_unreproduced(run, fact, money, done)


def _list_unreproduced(run: Run, fact: Fact, money: Decimal, done: Decimal) -> None:
    """A recorded waiver that did less (``done``) than it recorded (``money``), or nothing
    (refused): listed, for the correction to record (section 12; not without credit rules)."""
    if fact.kind in ("waiver", "paid_waiver") and done != money and run.credit_rules:
        run.unreproduced.append(
            {
                "event": fact.version,
                "on": fact.on,
                "part": str(fact.part),
                "of": "owed" if fact.kind == "waiver" else "paid",
                "recorded": money,
                "reproduced": done,
            }
        )


def _run_fact(loan: Loan, fact: Fact, money: Decimal, run: Run) -> Decimal:
    """One fact through the business day of section 3 (:mod:`ledger.domain.business_day`)
    and the day's commands; returns the money the history does not need (owed back)."""
    if fact.kind == "day":
        run_end_of_day(loan, fact.on)
        return ZERO
    if fact.kind == "non_accrual":  # section 15: after its day's end, the setting recorded
        loan.review_non_accrual(fact.on, after_days=fact.after_days)
        return ZERO
    if fact.kind == "deduction":  # the morning, with the money the bank gave
        received = OneCollection(money)
        run_morning(loan, fact.on, received)
        return money - received.taken
    before_deduction(loan, fact.on)  # the morning's fixing and credit (once a day)
    if fact.kind == "request":  # section 17: what was asked of the bank, no money yet
        if not loan.is_closed and loan.last_deduction_on != fact.on:
            loan.request_deduction(fact.on, money)
        return ZERO
    if fact.kind == "repayment":
        take = min(money, loan.amount_due)
        if take > ZERO:
            loan.repay(fact.on, take)
        return money - take
    if fact.kind == "prepayment":
        return _prepay(loan, fact, money)
    _remedy(loan, fact, money, run)
    return ZERO


@dataclass
class Replayed:
    loan: Loan | None
    discrepancies: list[Discrepancy] = field(default_factory=list)


def replay(recorded: Sequence[Any]) -> Replayed:
    """Replay the loan whose events are ``recorded`` (in version order) from its facts, and
    list every recorded figure the rules and the facts do not reproduce. The events the
    replay derives are compared and dropped, so they are not linked (:func:`unlinked`): the
    replayed loan's ``chain_head`` is empty; the recorded links are checked apart
    (:func:`ledger.domain.chain.first_broken_link`)."""
    with unlinked():
        return _replay(recorded)


def _replay(recorded: Sequence[Any]) -> Replayed:
    if not recorded:
        return Replayed(None)
    first = recorded[0]
    if not isinstance(first, Loan.Disbursed):
        raise ValueError(f"a loan's first event is Disbursed, not {type(first).__name__}")
    loan = Loan.disburse(terms_of(first), loan_id=first.originator_id, reference=first.reference)
    result = Replayed(loan)
    out = result.discrepancies
    pending: deque[Any] = deque(loan.collect_events())
    facts: list[Fact] = []

    for event in recorded:
        kind = type(event).__name__  # for the discrepancy report only
        if isinstance(event, Loan.Corrected):
            pending.clear()
            try:
                facts = corrected_facts(facts, event)
            except CommandRefused as refused:
                out.append(
                    Discrepancy(int(event.originator_version), kind, "replay", "", str(refused))
                )
                continue
            run = run_facts(first, facts, credit_rules=bool(event.credit_rules))
            compare_state(event, run.state(), run.unreproduced, out)
            loan = result.loan = run.loan  # go on from the corrected history
            continue
        fact = fact_of(event)
        if fact is not None:
            facts.append(fact)
        if not pending:
            _morning_first(loan, event)  # what live runs before any command of the day
            pending.extend(loan.collect_events())
        if pending:
            compare(event, pending.popleft(), out)
            continue
        try:
            _command(loan, event)
        except CommandRefused as refused:
            out.append(
                Discrepancy(
                    int(event.originator_version), kind, "replay", kind, f"refused: {refused}"
                )
            )
            continue
        pending.extend(loan.collect_events())
        if pending:
            compare(event, pending.popleft(), out)
        else:
            out.append(
                Discrepancy(int(event.originator_version), kind, "event", kind, "(not derived)")
            )
    for extra in pending:
        name = type(extra).__name__
        out.append(
            Discrepancy(int(extra.originator_version), name, "event", "(not recorded)", name)
        )
    return result


def _prepay(loan: Loan, fact: Fact, money: Decimal) -> Decimal:
    """A prepayment of ``money``, what the borrower really paid, in a recomputed history
    (section 7): a payoff if it was one and the money still covers the payoff; otherwise a
    partial prepayment of that money; if the rules refuse that too (it does not exceed what
    is due), a repayment of what is due. Returns what the history does not need: owed back."""
    if fact.replan is None:
        payoff = loan.quote_prepayment(fact.on).total
        if money >= payoff:
            loan.prepay(fact.on)
            return money - payoff
    replan = Replan(fact.replan or "reduce_installment")
    try:
        loan.prepay(fact.on, amount=money, replan=replan)
    except CommandRefused:
        take = min(money, loan.amount_due)
        if take > ZERO:
            loan.repay(fact.on, take)
        return money - take
    return ZERO


def _morning_first(loan: Loan, event: Any) -> None:
    """Section 3: live, no event of an open day is recorded before that day's morning has
    fixed what falls due and used the credit (:func:`before_deduction`, run again by the end
    of the day). The replay runs the same step before the event's own command, so a morning
    that did not use credit it should have (a missing ``CreditApplied``) is a discrepancy."""
    if not loan.is_closed and event.on == loan.next_open_day:
        before_deduction(loan, event.on)


def _command(loan: Loan, event: Any) -> None:
    """The command that ``event`` records, run with its facts only."""
    on: date = event.on
    if isinstance(event, Loan.PaidChargeWaived):  # closed loans too; the live command
        loan.waive(on, part=event.part, amount=event.amount, actor=event.actor, reason=event.reason)
        return
    if isinstance(event, Loan.Refunded):
        loan.refund(on, amount=event.amount, actor=event.actor, reason=event.reason)
        return
    if isinstance(event, Loan.Recovered):  # section 14: after the write-off (17: a result)
        result = getattr(event, "result", None)
        loan.recover(on, amount=event.amount, actor=event.actor, reason=event.reason, result=result)
        return
    if loan.is_closed:
        return
    if isinstance(event, Loan.InstallmentFellDue):
        loan.fix_due_installments(on)
    elif isinstance(event, (Loan.InstallmentDeducted, Loan.DeductionFailed)):
        due = loan.amount_due - loan.deductions_in_flight  # section 17
        loan.deduct(on, requested=due, collected=getattr(event, "collected", ZERO))
    elif isinstance(event, Loan.DeductionRequested):  # section 17
        loan.request_deduction(on, loan.amount_due - loan.deductions_in_flight)
    elif isinstance(event, Loan.Repaid):
        loan.repay(on, event.amount)
    elif isinstance(event, Loan.InterestAccrued):
        loan.close_day(on)
        loan.review_non_accrual(on, after_days=None)  # section 15: a cure is derived
    elif isinstance(event, (Loan.NonAccrualStarted, Loan.NonAccrualEnded)):  # section 15
        loan.review_non_accrual(on, after_days=getattr(event, "after_days", None))
    elif isinstance(event, Loan.RemainingFeesAssessed):  # section 13: a payoff records it first
        loan.prepay(on)
    elif isinstance(event, Loan.Prepaid):
        amount: Decimal | None = event.total if event.kind == "partial" else None
        loan.prepay(on, amount=amount, replan=Replan(event.replan or "reduce_installment"))
    elif isinstance(event, Loan.Waived):
        loan.waive(on, part=event.part, amount=event.amount, actor=event.actor, reason=event.reason)
    elif isinstance(event, Loan.CreditApplied):
        loan.apply_credit(on)
    elif isinstance(event, Loan.WrittenOff):
        loan.write_off(on, actor=event.actor, reason=event.reason)
    elif isinstance(event, Loan.Restructured):  # section 16
        loan.restructure(on, **event.asked())
    # Overdue, Closed: derived by the commands above
