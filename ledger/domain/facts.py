"""The facts of a loan (:mod:`ledger.domain.replay`): what came from outside the rules, read
from its recorded events, with its corrections applied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    request: str | None = None  # a deduction request's id (section 17)
    holiday: int | None = None  # a restructuring's payment holiday (section 16)


def fact_of(event: Any) -> Fact | None:
    """The fact a recorded event carries (what happened, not what the rules derived)."""
    version = int(event.originator_version)
    if isinstance(event, Loan.InstallmentFellDue):
        return Fact("morning", event.on, version=version)
    if isinstance(event, Loan.InstallmentDeducted):
        return Fact("deduction", event.on, event.collected, version=version)
    if isinstance(event, Loan.DeductionRequested):  # section 17: what was asked of the bank
        return Fact("request", event.on, event.requested, version=version, request=event.request_id)
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
        money = Fact("repayment", correction.effective_on, correction.amount)
        return _insert(result, replace(money, version=correction.originator_version))
    if correction.kind in ("settlement", "bounce"):  # section 17: a gateway's result
        return _settled(result, correction.reverses, correction.result)
    raise ValueError(f"unknown correction {correction.kind!r}")


def _insert(facts: list[Fact], money: Fact) -> list[Fact]:
    """``money`` received on its day, after that day's morning and before its end."""
    day = money.on
    at = next(
        (i for i, f in enumerate(facts) if f.on > day or (f.on == day and f.kind == "day")),
        len(facts),
    )
    facts.insert(at, money)
    return facts


def _settled(facts: list[Fact], request_version: int, result: dict[str, Any]) -> list[Fact]:
    """Section 17: the request recorded as event ``request_version`` brought ``collected``,
    taken on ``taken_on``: on its own day it is that morning's deduction; on a later day,
    the morning's deduction took nothing and the money is received on that day (as a
    repayment). A bounce of money already received is the same with nothing collected."""
    at = next((i for i, f in enumerate(facts) if f.version == request_version), None)
    if at is None or facts[at].kind not in ("request", "deduction"):
        raise CommandRefused(f"event {request_version} is not a deduction request of this loan")
    request = facts[at]
    kept = [f for f in facts if f.version != request_version or f is request]
    taken_on: date = result["taken_on"]
    collected: Decimal = result["collected"]
    same_day = taken_on == request.on
    kept[kept.index(request)] = replace(
        request, kind="deduction", amount=collected if same_day else ZERO
    )
    if same_day or collected == ZERO:
        return kept
    return _insert(kept, Fact("repayment", taken_on, collected, version=request_version))


def facts_of(recorded: Sequence[Any]) -> list[Fact]:
    """Every fact of a recorded history, corrections applied in the order recorded."""
    facts: list[Fact] = []
    for event in recorded:
        if isinstance(event, Loan.Corrected):  # and the business day it was recorded on
            facts = [*corrected_facts(facts, event), Fact("recorded", event.on)]
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
