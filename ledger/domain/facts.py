"""The facts of a loan (:mod:`ledger.domain.replay`): what came from outside the rules, read
from its recorded events, with its corrections applied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO


@dataclass(frozen=True)
class Fact:
    """Something that came from outside the rules, on business day ``on``."""

    # morning, deduction, repayment, day, prepayment, waiver (of what was owed: ``Waived``),
    # paid_waiver (of what was paid: ``PaidChargeWaived``), refund, write_off and recovery
    # (section 14: a decision, and money received), non_accrual (section 15: the setting in
    # force at the end of that day, ``after_days``), restructure (section 16: a decision)
    kind: str
    on: date
    amount: Decimal | None = None
    replan: str | None = None
    part: str | None = None
    actor: str = ""
    reason: str = ""
    version: int | None = None  # the recorded event it was read from
    after_days: int | None = None  # non_accrual: $LEDGER_NON_ACCRUAL_AFTER_DAYS as recorded
    term: int | None = None  # a restructuring's new term (section 16)
    rate: Decimal | None = None  # a restructuring's new rate (section 16)
    holiday: int | None = None  # a restructuring's payment holiday (section 16)


def fact_of(event: Any) -> Fact | None:
    """The fact a recorded event carries (what happened, not what the rules derived)."""
    version = int(event.originator_version)
    if isinstance(event, Loan.InstallmentFellDue):
        return Fact("morning", event.on, version=version)
    if isinstance(event, Loan.InstallmentDeducted):
        return Fact("deduction", event.on, event.collected, version=version)
    if isinstance(event, Loan.DeductionFailed):
        return Fact("deduction", event.on, ZERO, version=version)
    if isinstance(event, Loan.Repaid):
        return Fact("repayment", event.on, event.amount, version=version)
    if isinstance(event, Loan.InterestAccrued):
        return Fact("day", event.on, version=version)
    if isinstance(event, Loan.Prepaid):  # the money paid; a payoff has no replan
        return Fact("prepayment", event.on, event.total, replan=event.replan, version=version)
    if isinstance(event, (Loan.Waived, Loan.PaidChargeWaived)):  # two facts (section 12)
        return Fact(
            "waiver" if isinstance(event, Loan.Waived) else "paid_waiver",
            event.on,
            event.amount,
            part=event.part,
            actor=event.actor,
            reason=event.reason,
            version=version,
        )
    if isinstance(event, Loan.Refunded):  # money that left: a fact
        return Fact(
            "refund",
            event.on,
            event.amount,
            actor=event.actor,
            reason=event.reason,
            version=version,
        )
    if isinstance(event, (Loan.WrittenOff, Loan.Recovered)):  # section 14
        return Fact(
            "write_off" if isinstance(event, Loan.WrittenOff) else "recovery",
            event.on,
            getattr(event, "amount", None),  # a recovery's money
            actor=event.actor,
            reason=event.reason,
            version=version,
        )
    if isinstance(event, Loan.NonAccrualStarted):  # section 15: the setting is a fact
        return Fact("non_accrual", event.on, after_days=event.after_days, version=version)
    if isinstance(event, Loan.Restructured):  # section 16: what was asked
        return Fact(
            "restructure",
            event.on,
            actor=event.actor,
            reason=event.reason,
            version=version,
            term=event.new_term,
            rate=event.new_rate,
            holiday=event.holiday,
        )
    return None  # Disbursed, Overdue, Closed, CreditApplied, NonAccrualEnded, Corrected: derived


def corrected_facts(facts: Sequence[Fact], correction: Any) -> list[Fact]:
    """The facts with a ``Corrected`` event's correction applied."""
    result = list(facts)
    if correction.kind == "reversal":
        kept = [f for f in result if f.version != correction.reverses]
        if len(kept) == len(result):
            raise CommandRefused(f"event {correction.reverses} is not a payment of this loan")
        return kept
    if correction.kind == "backdated_repayment":
        day: date = correction.effective_on
        at = next(
            (i for i, f in enumerate(result) if f.on > day or (f.on == day and f.kind == "day")),
            len(result),
        )
        result.insert(
            at, Fact("repayment", day, correction.amount, version=correction.originator_version)
        )
        return result
    raise ValueError(f"unknown correction {correction.kind!r}")


def facts_of(recorded: Sequence[Any]) -> list[Fact]:
    """Every fact of a recorded history, corrections applied in the order recorded."""
    facts: list[Fact] = []
    for event in recorded:
        if isinstance(event, Loan.Corrected):
            facts = corrected_facts(facts, event)
        else:
            fact = fact_of(event)
            if fact is not None:
                facts.append(fact)
    return facts


def credit_rules_of(recorded: Sequence[Any]) -> bool:
    """Whether a recomputation of this history follows section 12: as its latest correction
    did (one recorded before credit existed did not); a history never corrected does."""
    rules = True
    for event in recorded:
        if isinstance(event, Loan.Corrected):
            rules = bool(event.credit_rules)
    return rules
