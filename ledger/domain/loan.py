"""The ``Loan`` aggregate: every money fact of one loan as an event.

Here are its events (nested in ``Loan``: their stored topics are ``ledger.domain.loan:Loan.X``)
with their versions and upcasts, and its creation. Every event carries the computed amounts
*and* the inputs that produced them, so that an auditor can redo the arithmetic from the event
alone; applying one only moves state (:func:`ledger.domain.evolve.evolve`). The commands that
trigger them are in :mod:`ledger.domain.commands`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules, upcasts
from ledger.domain.accrued import AccruedAmounts
from ledger.domain.actor import UNKNOWN, current_actor
from ledger.domain.chain import GENESIS, link
from ledger.domain.collection import Collections, DeductionRequestedFields
from ledger.domain.credit import credit_defaults
from ledger.domain.money import ZERO
from ledger.domain.non_accrual import NonAccruals
from ledger.domain.remedies import Remedies
from ledger.domain.restructure import RestructuredFields, Restructurings
from ledger.domain.terms import Terms
from ledger.domain.write_off import WriteOffs

# optional loan event fields: absent (not stored, not hashed) where None; events read as before
ABSENT_WHEN_NONE = ("month", "holiday", "planned_interest", "result")


class Loan(Aggregate, Collections, NonAccruals, WriteOffs, Restructurings, Remedies):
    """A consumer loan. Its state (:class:`LoanState`) is only ever changed by its events,
    each through :func:`evolve`, the same function the projections fold events with."""

    # ------------------------------------------------------------------ events

    class Event(Aggregate.Event):
        """Every loan event after ``Disbursed``: it carries ``chain``, the hash linking it to
        the loan's previous event (:mod:`ledger.domain.chain`).

        Version 2 of every loan event added ``chain``; a version-1 event (recorded before) is
        read with ``chain = ""``, unchained. Version 3 added ``recorded_by``, who asked
        (:mod:`ledger.domain.actor`), read as ``""`` from older events. That is how an event
        class changes without breaking old events: raise ``class_version``, add an upcast."""

        chain: str
        recorded_by: str
        class_version = 3

        upcast_v1_v2 = staticmethod(upcasts.unchained)
        upcast_v2_v3 = staticmethod(upcasts.asker_unknown)

        def __post_init__(self) -> None:
            super().__post_init__()
            for name in [n for n in ABSENT_WHEN_NONE if vars(self).get(n, False) is None]:
                del vars(self)[name]  # not stored, not hashed: the event reads as before

        def apply(self, aggregate: Any) -> None:
            from ledger.domain.evolve import evolve  # it dispatches on these very classes

            evolve(aggregate, self)

    class Disbursed(Aggregate.Created):
        """The principal left the lender on ``on``; the terms and the plan computed from them."""

        on: date
        reference: str | None
        terms: dict[str, Any]
        monthly_rate: Decimal
        emi: Decimal
        principal_step: Decimal
        chain: str
        recorded_by: str
        class_version = 4

        upcast_v1_v2 = staticmethod(upcasts.unchained)
        upcast_v2_v3 = staticmethod(upcasts.asker_unknown)
        upcast_v3_v4 = staticmethod(upcasts.accrued_in_28_digits)

    class InstallmentFellDue(Event):
        """Morning of a due date: installment ``k`` is fixed from what actually accrued
        (section 5): interest = round(interest_accrued), principal by the method."""

        on: date
        k: int
        due_date: date
        principal: Decimal
        interest: Decimal
        interest_accrued: Decimal
        rounding: str
        method: str
        emi: Decimal
        principal_step: Decimal
        remaining_principal_before: Decimal
        is_last: bool
        # section 16, only where a payment holiday set them (absent from every other event):
        # ``holiday`` true: nothing fell due, the interest accrued carries on; on the first
        # installment after a holiday, principal by the method as if its interest were
        # ``planned_interest = round(remaining_principal_before x monthly rate)``
        holiday: bool | None = None
        planned_interest: Decimal | None = None

    class HandlingFeeFellDue(Event):
        """Section 13, right after installment ``k`` of a ``bank_installment`` loan fell due:
        its handling fee = round(``principal`` x ``fee_rate``) by ``rounding``, owed with it."""

        on: date
        k: int
        principal: Decimal
        fee_rate: Decimal
        rounding: str
        fee: Decimal

    class InstallmentDeducted(Event):
        """Morning deduction from the linked account collected ``collected`` of ``requested``,
        allocated oldest first, penalty then interest then principal (section 6)."""

        on: date
        requested: Decimal
        collected: Decimal
        allocations: list[dict[str, Any]]

    class DeductionFailed(Event):  # the morning deduction of ``requested`` collected nothing
        on: date
        requested: Decimal

    class DeductionRequested(Event, DeductionRequestedFields):
        """Section 17: a deduction asked of an asynchronous gateway; result: a ``Corrected``."""

    class Repaid(Event):
        """A manual repayment of ``amount``, allocated as in section 6."""

        on: date
        amount: Decimal
        allocations: list[dict[str, Any]]

    class InterestAccrued(Event, AccruedAmounts):
        """End of day ``on`` (section 4): normal interest on ``base``, a penalty per overdue
        installment (and, section 11, compound interest; section 10, a month's adjustment),
        unrounded. Every field and its arithmetic: :class:`AccruedAmounts`, its base."""

        on: date
        base: Decimal
        rate: Decimal
        divisor: int
        days: int
        normal: Decimal
        penalty_multiplier: Decimal
        penalties: list[dict[str, Any]]
        penalty: Decimal
        into: str  # "period" (next installment) or "last_installment" (after the final due date)
        month: dict[str, Any] | None = None  # section 10, only where a month completes
        class_version = 4

        upcast_v3_v4 = staticmethod(upcasts.rate_already_divided)

    class Overdue(Event):
        """Installment ``k`` was not fully paid by the end of its due date + grace days;
        penalty on it starts with the accrual of ``overdue_from``."""

        on: date
        k: int
        overdue_from: date
        principal: Decimal
        interest: Decimal

    class Prepaid(Event):
        """A prepayment (section 7), full or partial, with its parts and the new plan."""

        on: date
        kind: str
        allocations: list[dict[str, Any]]
        overdue: Decimal
        penalty: Decimal
        interest: Decimal
        interest_accrued: Decimal
        fee_rate: Decimal
        fee: Decimal
        principal: Decimal
        total: Decimal
        remaining_principal: Decimal
        replan: str | None
        emi: Decimal | None
        principal_step: Decimal | None
        last_k: int | None

    class RemainingFeesAssessed(Event):
        """Section 13, a full prepayment of a ``bank_installment`` loan: ``installments``, not
        yet due, have a fee of ``fee`` each; ``rule`` charge: ``charged`` = fee x their number,
        paid by the ``Prepaid`` that follows (in its ``total``); waive: ``charged`` = 0."""

        on: date
        rule: str
        installments: list[int]
        fee: Decimal
        charged: Decimal

    class Closed(Event):
        """Nothing more is owed: the loan closes; nothing more accrues or is deducted.
        ``residual_interest`` is the sub-fen remainder of accrued interest left by rounding."""

        on: date
        reason: str
        residual_interest: Decimal

    class Waived(Event):
        """Penalty or interest forgiven (goodwill or the outcome of a dispute): ``amount`` of
        ``part``, taken from the oldest unsettled installments first. No money moved."""

        on: date
        part: str  # "penalty" or "interest"
        amount: Decimal
        allocations: list[dict[str, Any]]
        actor: str
        reason: str

    class Corrected(Event):
        """A correction of the past, recorded now. ``kind``: ``backdated_repayment`` (a
        repayment of ``amount`` on ``effective_on``), ``reversal`` (payment event ``reverses``
        bounced), ``settlement`` or ``bounce`` (section 17: a gateway's ``result`` for request
        event ``reverses``). The loan was recomputed from its facts with the correction (the
        rules as ever); ``state`` is the result, ``differences`` what changed (recomputed -
        recorded), ``supersedes`` the recorded events from ``effective_on`` on whose amounts
        it replaced, ``refund_due`` money paid that the corrected history does not need.
        ``credit_rules`` (v4): recomputed under section 12 (read as false before: no credit
        held). ``waivers_not_reproduced`` (v5): each recorded waiver the recomputed history
        forgave or gave back less of (``event``, ``on``, ``part``, ``of``: owed or paid,
        ``recorded``, ``reproduced``; section 12)."""

        on: date
        kind: str
        effective_on: date
        amount: Decimal | None
        reverses: int | None
        supersedes: list[int]
        refund_due: Decimal
        differences: dict[str, Any]
        state: dict[str, Any]
        actor: str
        reason: str
        credit_rules: bool
        waivers_not_reproduced: list[dict[str, Any]]
        result: dict[str, Any] | None = None  # section 17, kinds settlement and bounce only
        class_version = 5

        upcast_v3_v4 = staticmethod(upcasts.before_credit)
        upcast_v4_v5 = staticmethod(upcasts.waivers_as_recorded)

    class PaidChargeWaived(Event):
        """loan-rules §12: ``amount`` of a charge already paid (``part``: the prepayment
        ``fee``, ``penalty`` or ``interest``) was waived and became credit. ``paid`` is what
        was paid of it, ``credited_before`` what waivers had already given back:
        ``amount <= paid - credited_before``, ``credit_after = credit_before + amount``."""

        on: date
        part: str
        amount: Decimal
        paid: Decimal
        credited_before: Decimal
        credit_before: Decimal
        credit_after: Decimal
        actor: str
        reason: str

    class CreditApplied(Event):
        """loan-rules §12: before the morning's deduction, ``applied = min(eligible,
        amount_due)`` of the credit paid what was due (``eligible``: the credit less what arose
        that day), allocated as money received (section 6); ``credit_after = credit_before -
        applied``."""

        on: date
        credit_before: Decimal
        eligible: Decimal
        amount_due: Decimal
        applied: Decimal
        allocations: list[dict[str, Any]]
        credit_after: Decimal

    class Refunded(Event):
        """loan-rules §12: ``amount`` of the credit was paid back to the borrower through the
        payment gateway: ``amount <= credit_before``, ``credit_after = credit_before - amount``."""

        on: date
        amount: Decimal
        credit_before: Decimal
        credit_after: Decimal
        actor: str
        reason: str

    class OverpaymentHeld(Event):
        """loan-rules §12: of ``received`` (a deduction, repayment or prepayment: ``source``)
        the rules used ``used``; the rest, ``amount``, is held as credit. Only a history
        recomputed from its facts (a correction) has it; ``Corrected`` records the result."""

        on: date
        source: str
        received: Decimal
        used: Decimal
        amount: Decimal
        credit_before: Decimal
        credit_after: Decimal

    class WrittenOff(Event):
        """loan-rules §14 (four eyes): everything owed written off, by part: ``principal``
        (due and ``principal_not_due``), ``interest`` (due, and ``interest_accrued`` since the
        last due date rounded as a payoff rounds it), ``penalty``, ``compound`` (section 11),
        ``fees`` (section 13); ``total`` their sum, ``owed`` per installment (section 6).
        Nothing accrues and nothing is deducted after it."""

        on: date
        principal: Decimal
        interest: Decimal
        penalty: Decimal
        compound: Decimal
        fees: Decimal
        total: Decimal
        owed: list[dict[str, Any]]
        principal_not_due: Decimal
        interest_accrued: Decimal
        actor: str
        reason: str

    class Recovered(Event):
        """loan-rules §14: ``amount`` received on a written-off loan; ``outstanding_after =
        outstanding_before - amount``, never below zero; ``result``: section 17."""

        on: date
        amount: Decimal
        outstanding_before: Decimal
        outstanding_after: Decimal
        actor: str
        reason: str
        result: dict[str, Any] | None = None

    class NonAccrualStarted(Event):
        """loan-rules §15: ``days_past_due`` at the end of ``on`` reached ``after_days``."""

        on: date
        days_past_due: int
        after_days: int  # $LEDGER_NON_ACCRUAL_AFTER_DAYS then

    class NonAccrualEnded(Event):
        """loan-rules §15: nothing past due at the end of ``on``: its charges are income."""

        on: date
        started_on: date

    class Restructured(Event, RestructuredFields):
        """loan-rules §16 (four eyes): the principal not yet due re-planned over a new term
        and/or at a new rate; its fields: :class:`RestructuredFields`. No money moves."""

        holiday: int | None = None  # a payment holiday's installments, only where one is

    def __init__(  # called by Disbursed
        self,
        on: date,
        reference: str | None,
        terms: dict[str, Any],
        monthly_rate: Decimal,
        emi: Decimal,
        principal_step: Decimal,
        chain: str = GENESIS,
        recorded_by: str = UNKNOWN,
    ) -> None:
        self.start(
            on=on,
            reference=reference,
            terms=Terms.from_event_fields({**terms, "disbursed_on": on}),
            monthly_rate=monthly_rate,
            emi=emi,
            principal_step=principal_step,
            chain=chain,
        )

    # ------------------------------------------------------------------ commands

    @classmethod
    def disburse(cls, terms: Terms, *, loan_id: UUID, reference: str | None = None) -> Loan:
        """Open a loan: compute the monthly rate, the EMI (section 5) and the principal step."""
        r = rules.monthly_rate(terms.daily_rate, terms.annual_rate)
        emi = rules.emi(terms.principal, r, terms.term, terms.installment_multiple, terms.rounding)
        step = rules.principal_per_installment(terms.principal, terms.term, terms.rounding)
        fields = terms.as_event_fields()
        del fields["disbursed_on"]
        data: dict[str, Any] = {
            "on": terms.disbursed_on,
            "reference": reference,
            "terms": fields,
            "monthly_rate": r,
            "emi": emi,
            "principal_step": step,
        }
        data["recorded_by"] = current_actor()
        chain = link(GENESIS, cls.Disbursed.__name__, loan_id, 1, data)
        return cls._create(cls.Disbursed, id=loan_id, chain=chain, **data)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Every event is linked to the previous one (:mod:`ledger.domain.chain`); optional
        fields (:data:`ABSENT_WHEN_NONE`) given as ``None`` are left out, as if not given."""
        version = self.version + 1
        kwargs = {k: v for k, v in kwargs.items() if v is not None or k not in ABSENT_WHEN_NONE}
        kwargs["recorded_by"] = current_actor()
        chain = link(self.chain_head, event_class.__name__, self.id, version, kwargs)
        super().trigger_event(event_class, chain=chain, **kwargs)


# State added after the first release: a loan restored from a snapshot taken before it existed
# reads these defaults from the class (set after the class, which the library makes a dataclass).
Loan.chain_head = GENESIS
Loan.penalty_waived = ZERO
Loan.interest_waived = ZERO
Loan.refunds_due = ZERO
Loan.last_event_on = date.min  # then the last day closed (LoanState.as_of) speaks
for _name, _value in credit_defaults().items():  # section 12
    setattr(Loan, _name, _value)
