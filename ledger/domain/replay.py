"""Replay a loan from its facts with the rules, independently of the amounts it recorded.

The **facts** of a loan are what came from outside: its terms and disbursement, the business
days that ran, the money each morning deduction collected (or that it collected nothing), the
amount of each repayment, the amount and re-plan choice of each prepayment. Everything else
(EMI, installment parts, allocations, daily accruals, penalties, overdue marks, fees,
closing) is derived. :func:`replay` drives a fresh :class:`~ledger.domain.loan.Loan` through
the same commands with those facts only, and compares every event it derives with the one
recorded, field by field: that is ``ledger audit verify``. With other terms (``what_if``) it
answers "what would this loan have been charged under ...", without comparing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.chain import NOT_HASHED
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.terms import Replan, Terms
from ledger.money import ZERO


@dataclass(frozen=True)
class Discrepancy:
    """A recorded event that the facts and the rules do not reproduce."""

    version: int
    event: str
    field: str
    recorded: str
    recomputed: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "event": self.event,
            "field": self.field,
            "recorded": self.recorded,
            "recomputed": self.recomputed,
        }


@dataclass
class Replayed:
    loan: Loan | None
    events: list[Any] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def terms_of(disbursed: Any) -> Terms:
    return Terms.from_event_fields({**disbursed.terms, "disbursed_on": disbursed.on})


def _fields(event: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in NOT_HASHED}


def _show(value: Any) -> str:
    return "(missing)" if value is _MISSING else str(value)


_MISSING = object()


def _compare(recorded: Any, recomputed: Any, out: list[Discrepancy]) -> None:
    kind = type(recorded).__name__
    version = int(recorded.originator_version)
    if type(recomputed).__name__ != kind:
        out.append(Discrepancy(version, kind, "type", kind, type(recomputed).__name__))
        return
    a, b = _fields(recorded), _fields(recomputed)
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name, _MISSING), b.get(name, _MISSING)
        if left != right:
            out.append(Discrepancy(version, kind, name, _show(left), _show(right)))


def replay(
    recorded: Sequence[Any],
    *,
    terms: Terms | None = None,
    compare: bool = True,
) -> Replayed:
    """Replay the loan whose events are ``recorded`` (in version order) from its facts.

    ``terms`` replaces the loan's own terms (what-if); then money received is capped at what
    the replayed loan owes (a deduction collects ``min(collected, due)``; a repayment larger
    than what is due pays what is due), and nothing is compared."""
    if not recorded:
        return Replayed(None)
    first = recorded[0]
    if type(first).__name__ != "Disbursed":
        raise ValueError(f"a loan's first event is Disbursed, not {type(first).__name__}")
    loan = Loan.disburse(
        terms or terms_of(first), loan_id=first.originator_id, reference=first.reference
    )
    result = Replayed(loan)
    pending: deque[Any] = deque(loan.collect_events())
    result.events.extend(pending)
    what_if = terms is not None

    def run(event: Any) -> None:
        """The command that ``event`` records, with its facts."""
        kind = type(event).__name__
        on: date = event.on
        if loan.is_closed:
            return
        if kind == "InstallmentFellDue":
            loan.fix_due_installments(on)
        elif kind in ("InstallmentDeducted", "DeductionFailed"):
            if what_if:
                loan.fix_due_installments(on)
            due = loan.amount_due
            collected: Decimal = getattr(event, "collected", ZERO)
            if what_if:
                collected = min(collected, due)
                if due == ZERO or loan.last_deduction_on == on:
                    return
            loan.deduct(on, requested=due, collected=collected)
        elif kind == "Repaid":
            amount: Decimal = event.amount
            if what_if:
                loan.fix_due_installments(on)
                amount = min(amount, loan.amount_due)
                if amount <= ZERO:
                    return
            loan.repay(on, amount)
        elif kind == "InterestAccrued":
            if what_if:
                loan.fix_due_installments(on)
            loan.close_day(on)
        elif kind == "Prepaid":
            if what_if:
                loan.fix_due_installments(on)
            amount_: Decimal | None = event.total if event.kind == "partial" else None
            loan.prepay(on, amount=amount_, replan=Replan(event.replan or "reduce_installment"))
        # Overdue and Closed are derived by the commands above: nothing to run

    for event in recorded:
        if compare and pending:
            _compare(event, pending.popleft(), result.discrepancies)
            continue
        try:
            run(event)
        except CommandRefused as refused:
            if compare:
                kind = type(event).__name__
                result.discrepancies.append(
                    Discrepancy(
                        int(event.originator_version), kind, "replay", kind, f"refused: {refused}"
                    )
                )
            else:
                result.notes.append(f"{type(event).__name__} on {event.on}: {refused}")
            continue
        new = loan.collect_events()
        result.events.extend(new)
        pending.extend(new)
        if compare:
            if pending:
                _compare(event, pending.popleft(), result.discrepancies)
            else:
                kind = type(event).__name__
                result.discrepancies.append(
                    Discrepancy(int(event.originator_version), kind, "event", kind, "(not derived)")
                )
        else:
            pending.clear()
    if compare:
        for extra in pending:
            result.discrepancies.append(
                Discrepancy(
                    int(extra.originator_version),
                    type(extra).__name__,
                    "event",
                    "(not recorded)",
                    type(extra).__name__,
                )
            )
    return result
