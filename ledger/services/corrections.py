"""Corrections of a loan's past, recorded as new events (loan-rules sections 3 to 7 as ever):
a back-dated repayment, a reversal of a payment that bounced; and the loan as it stood at the
end of a past business day. (Waivers and refunds: :mod:`ledger.services.remedies`.)

A back-dated repayment or a reversal recomputes the loan from its facts with the correction
(:mod:`ledger.domain.replay`) and records the result as one ``Corrected`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.replay import corrected_facts, credit_rules_of, facts_of, run_facts
from ledger.services.store import LedgerStore

# events whose amounts a correction recomputes (the facts' events are kept, as facts)
DERIVED_EVENTS = (
    Loan.InstallmentFellDue,
    Loan.HandlingFeeFellDue,
    Loan.InstallmentDeducted,
    Loan.Repaid,
    Loan.InterestAccrued,
    Loan.Overdue,
    Loan.RemainingFeesAssessed,
    Loan.Prepaid,
    Loan.Closed,
    Loan.Waived,
    Loan.PaidChargeWaived,
    Loan.CreditApplied,
    Loan.Refunded,
)


@dataclass(frozen=True)
class Correction:
    """A correction being recorded (the shape :func:`corrected_facts` reads)."""

    kind: str
    effective_on: date
    amount: Decimal | None = None
    reverses: int | None = None
    originator_version: int | None = None
    result: dict[str, Any] | None = None  # section 17: a gateway's result


class Corrections(LedgerStore):
    """Use cases that correct a loan's past, or read it."""

    # ------------------------------------------------------------------ corrections

    def repay_backdated(
        self, reference: str, amount: Decimal, on: date, *, actor: str, reason: str
    ) -> Loan:
        """A repayment that really happened on ``on``, a business day already closed: the
        loan is recomputed from its facts with it, and the result recorded as ``Corrected``."""
        loan = self.get_loan(reference)
        if amount <= 0:
            raise CommandRefused(f"repayment amount must be positive, got {amount}")
        if on < loan.terms.disbursed_on:
            raise CommandRefused(
                f"loan {loan.label}: {on} is before its disbursement on {loan.terms.disbursed_on}"
            )
        if on > loan.closed_through:
            raise CommandRefused(
                f"loan {loan.label}: {on} is not closed yet (closed through "
                f"{loan.closed_through}): a repayment on it is not back-dated; drop --backdated"
            )
        return self._correct(
            loan,
            Correction(
                "backdated_repayment", on, amount=amount, originator_version=loan.version + 1
            ),
            actor=actor,
            reason=reason,
        )

    def reverse(self, reference: str, version: int, *, actor: str, reason: str) -> Loan:
        """A deduction or repayment that bounced: recompute the loan without it."""
        loan = self.get_loan(reference)
        events: list[Any] = self.history(loan)
        target = next((e for e in events if e.originator_version == version), None)
        if not isinstance(target, (Loan.InstallmentDeducted, Loan.Repaid)):
            raise CommandRefused(
                f"loan {loan.label}: event {version} is "
                + (f"a {type(target).__name__}" if target is not None else "not one of its events")
                + "; only a deduction or a repayment can be reversed"
            )
        for e in events:
            if isinstance(e, Loan.Corrected) and e.reverses == version:
                raise CommandRefused(
                    f"loan {loan.label}: event {version} was already reversed by event "
                    f"{e.originator_version}"
                )
        on: date = target.on
        return self._correct(
            loan,
            Correction("reversal", on, reverses=version),
            actor=actor,
            reason=reason,
            events=events,
        )

    def _correct(
        self,
        loan: Loan,
        correction: Correction,
        *,
        actor: str,
        reason: str,
        events: list[Any] | None = None,
    ) -> Loan:
        if loan.is_written_off:  # section 14: its history stays as it was written off
            advice = (
                "money received since is recorded as a recovery"
                if correction.kind == "backdated_repayment"
                else "a payment that bounced before it cannot be undone (loan-rules section 14)"
            )
            raise CommandRefused(
                f"loan {loan.label} is written off (on {loan.written_off_on}): it cannot be "
                f"corrected; {advice}"
            )
        if loan.is_closed and correction.kind == "backdated_repayment":
            raise CommandRefused(f"loan {loan.label} is closed (since {loan.closed_on})")
        recorded: list[Any] = events if events is not None else self.history(loan)
        facts = corrected_facts(facts_of(recorded), correction)
        run = run_facts(recorded[0], facts)
        if run.refused_refunds:  # money already paid back that the corrected history lacks
            refund = run.refused_refunds[0]
            raise CommandRefused(
                f"loan {loan.label}: the corrected history does not hold the credit that the "
                f"refund of {fmt(refund.amount or ZERO)} on {refund.on} paid back "
                f"(event {refund.version}); nothing was recorded"
            )
        supersedes = [
            int(e.originator_version)
            for e in recorded
            if e.on >= correction.effective_on and isinstance(e, DERIVED_EVENTS)
        ]
        loan.correct(
            loan.as_of,  # the loan's business date: a payoff on an open day is on that day
            kind=correction.kind,
            effective_on=correction.effective_on,
            amount=correction.amount,
            reverses=correction.reverses,
            supersedes=supersedes,
            refund_due=run.refund_due - loan.refunds_due,
            corrected=run.loan,
            actor=actor,
            reason=reason,
            waivers_not_reproduced=run.unreproduced,
            result=correction.result,
        )
        self.save(loan)
        return loan

    def loan_as_of(self, reference: str, as_of: date | None = None) -> Loan:
        """The loan at the end of business day ``as_of`` (default: everything recorded).

        Business time: with corrections recorded, the past is what the corrected facts say
        (a back-dated repayment counts from its date), so the loan is replayed from its facts
        up to ``as_of``; without, it is the recorded state at the last event of ``as_of``."""
        loan = self.get_loan(reference)
        if as_of is None:
            return loan
        if as_of < loan.terms.disbursed_on:
            raise CommandRefused(
                f"loan {loan.label}: {as_of} is before its disbursement on "
                f"{loan.terms.disbursed_on}"
            )
        if as_of > loan.closed_through and not loan.is_closed:
            raise CommandRefused(
                f"loan {loan.label}: business day {as_of} is not closed yet "
                f"(closed through {loan.closed_through}); run close-day --through {as_of}"
            )
        recorded = list(self.events.get(loan.id))
        if any(isinstance(e, Loan.Corrected) for e in recorded):
            rules = credit_rules_of(recorded)  # as its latest correction recomputed it
            return run_facts(recorded[0], facts_of(recorded), until=as_of, credit_rules=rules).loan
        version = 0
        for event in recorded:
            event_on: date = event.on  # type: ignore[attr-defined]  # every loan event has 'on'
            if event_on > as_of:
                break
            version = event.originator_version
        historical: Any = self.repository.get(loan.id, version=version)
        assert isinstance(historical, Loan)
        return historical
