"""The ``Loan`` aggregate: every money fact of one loan as an event.

Commands validate, compute once with :mod:`ledger.domain.rules`, and trigger one past-tense
event that carries the computed amounts *and* the inputs that produced them, so that an
auditor can redo the arithmetic from the event alone. ``apply`` methods only move state.

The business day (loan-rules section 3) is driven from outside, in this order:
``fix_due_installments(d)`` and ``deduct(d, ...)`` in the morning, ``repay``/``prepay`` during
the day, ``close_day(d)`` at the end of the day (accrual, then overdue marking).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.accrual import accrual_of, newly_overdue
from ledger.domain.actor import UNKNOWN, current_actor
from ledger.domain.chain import GENESIS, link
from ledger.domain.errors import CommandRefused
from ledger.domain.money import FEN, ZERO, fmt, round_to
from ledger.domain.prepayment import PrepaymentQuote, quote_prepayment
from ledger.domain.state import ACTIVE, CLOSED, OVERDUE, Installment, LoanState, differences
from ledger.domain.terms import Replan, Terms

__all__ = [
    "ACTIVE",
    "CLOSED",
    "OVERDUE",
    "Installment",
    "Loan",
    "LoanState",
    "PrepaymentQuote",
    "differences",
]


def _unchained(state: dict[str, Any]) -> None:
    """Loan events v1 -> v2: recorded before the hash chain existed."""
    state["chain"] = GENESIS


def _asker_unknown(state: dict[str, Any]) -> None:
    """Loan events v2 -> v3: who asked was not recorded before version 3."""
    state["recorded_by"] = UNKNOWN


class Loan(Aggregate, LoanState):
    """A consumer loan. Its state (:class:`LoanState`) is only ever changed by its events,
    each through :func:`evolve`, the same function the projections fold events with."""

    # ------------------------------------------------------------------ events

    class Event(Aggregate.Event):
        """Every loan event after ``Disbursed``: it carries ``chain``, the hash linking it to
        the loan's previous event (:mod:`ledger.domain.chain`).

        Version 2 of every loan event added ``chain``; a version-1 event (recorded before)
        is read with ``chain = ""``, i.e. unchained. Version 3 added ``recorded_by``, who
        asked (:mod:`ledger.domain.actor`); older events read it as ``""``. That is how an
        event class changes without breaking old events: raise ``class_version`` and add
        ``upcast_vN_vN+1``."""

        chain: str
        recorded_by: str
        class_version = 3

        upcast_v1_v2 = staticmethod(_unchained)
        upcast_v2_v3 = staticmethod(_asker_unknown)

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
        class_version = 3

        upcast_v1_v2 = staticmethod(_unchained)
        upcast_v2_v3 = staticmethod(_asker_unknown)

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

    class InstallmentDeducted(Event):
        """Morning deduction from the linked account collected ``collected`` of ``requested``,
        allocated oldest first, penalty then interest then principal (section 6)."""

        on: date
        requested: Decimal
        collected: Decimal
        allocations: list[dict[str, Any]]

    class DeductionFailed(Event):
        """Morning deduction of ``requested`` collected nothing."""

        on: date
        requested: Decimal

    class Repaid(Event):
        """A manual repayment of ``amount``, allocated as in section 6."""

        on: date
        amount: Decimal
        allocations: list[dict[str, Any]]

    class InterestAccrued(Event):
        """End of day ``on`` (section 4): normal = base x rate x days; per overdue installment
        penalty = (overdue principal + interest) x rate x days x multiplier. Unrounded."""

        on: date
        base: Decimal
        rate: Decimal
        days: int
        normal: Decimal
        penalty_multiplier: Decimal
        penalties: list[dict[str, Any]]
        penalty: Decimal
        into: str  # "period" (next installment) or "last_installment" (after the final due date)

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
        """A correction of the past, recorded now: ``kind`` is ``backdated_repayment`` (a
        repayment of ``amount`` that really happened on ``effective_on``) or ``reversal`` (the
        payment recorded as event ``reverses`` bounced). The loan was recomputed from its facts
        with the correction, from ``effective_on`` on (loan-rules sections 3 to 6 as ever);
        ``state`` is the result and ``differences`` what changed (recomputed - recorded), per
        figure and per installment. ``supersedes`` lists the recorded events from
        ``effective_on`` on whose amounts the recomputation replaced. ``refund_due`` is money
        the borrower paid that the corrected history does not need (e.g. a deduction taken
        after the back-dated repayment had already paid the installment)."""

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
        """Every event is linked to the previous one (:mod:`ledger.domain.chain`)."""
        version = self.version + 1
        kwargs["recorded_by"] = current_actor()
        chain = link(self.chain_head, event_class.__name__, self.id, version, kwargs)
        super().trigger_event(event_class, chain=chain, **kwargs)

    def fix_due_installments(self, on: date) -> None:
        """Morning of ``on``, step 1 (section 3): fix every installment due on ``on``."""
        self._require_day_open(on)
        while len(self.installments) < self.last_k:
            k = len(self.installments) + 1
            due = rules.due_date(self.terms.disbursed_on, k)
            if due > on:
                break
            is_last = k == self.last_k
            parts = rules.installment_parts(
                method=self.terms.method,
                is_last=is_last,
                emi_amount=self.emi,
                principal_step=self.principal_step,
                remaining_principal=self.principal_not_due,
                interest_accrued=self.interest_accrued,
                rounding=self.terms.rounding,
            )
            self.trigger_event(
                self.InstallmentFellDue,
                on=on,
                k=k,
                due_date=due,
                principal=parts.principal,
                interest=parts.interest,
                interest_accrued=self.interest_accrued,
                rounding=self.terms.rounding.value,
                method=self.terms.method.value,
                emi=self.emi,
                principal_step=self.principal_step,
                remaining_principal_before=self.principal_not_due,
                is_last=is_last,
            )
        self._close_if_settled(on)

    def deduct(self, on: date, *, requested: Decimal, collected: Decimal) -> None:
        """Morning of ``on``, step 2: record the one deduction of the day (section 3)."""
        self._require_morning_done(on)
        if self.last_deduction_on == on:
            raise CommandRefused(f"loan {self.label}: a deduction was already made on {on}")
        if requested != self.amount_due:
            raise CommandRefused(
                f"loan {self.label}: deduction requested {fmt(requested)} "
                f"but {fmt(self.amount_due)} is due"
            )
        if collected < ZERO or collected > requested:
            raise CommandRefused(
                f"loan {self.label}: collected {fmt(collected)} is not within 0..{fmt(requested)}"
            )
        if collected == ZERO:
            self.trigger_event(self.DeductionFailed, on=on, requested=requested)
            return
        allocations, _ = rules.allocate(collected, self.owed())
        self.trigger_event(
            self.InstallmentDeducted,
            on=on,
            requested=requested,
            collected=collected,
            allocations=[a.as_dict() for a in allocations],
        )
        self._close_if_settled(on)

    def repay(self, on: date, amount: Decimal) -> list[rules.Allocation]:
        """A repayment on ``on`` (section 6); more than everything due is refused."""
        self._require_morning_done(on)
        if amount <= ZERO:
            raise CommandRefused(f"repayment amount must be positive, got {fmt(amount)}")
        due = self.amount_due
        if amount > due:
            raise CommandRefused(
                f"loan {self.label}: repayment of {fmt(amount)} exceeds the {fmt(due)} due "
                f"on {on}; use a prepayment for the rest"
            )
        allocations, _ = rules.allocate(amount, self.owed())
        self.trigger_event(
            self.Repaid, on=on, amount=amount, allocations=[a.as_dict() for a in allocations]
        )
        self._close_if_settled(on)
        return allocations

    def close_day(self, on: date) -> None:
        """End of day ``on`` (section 3): accrue interest for ``on`` on the balances as they
        stand (section 4), then mark overdue every installment unpaid at the end of its
        ``due + grace_days`` (section 6)."""
        self._require_morning_done(on)
        self.trigger_event(self.InterestAccrued, **accrual_of(self, on))
        for overdue in newly_overdue(self, on):
            self.trigger_event(self.Overdue, **overdue)

    def quote_prepayment(
        self,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
    ) -> PrepaymentQuote:
        """Section 7: what a full (``amount=None``) or partial prepayment on ``on`` pays."""
        self._require_morning_done(on)
        return quote_prepayment(self, on, amount=amount, replan=replan)

    def prepay(
        self,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
    ) -> PrepaymentQuote:
        """Execute a prepayment (section 7); a full one closes the loan."""
        quote = self.quote_prepayment(on, amount=amount, replan=replan)
        self.trigger_event(
            self.Prepaid,
            on=on,
            kind=quote.kind,
            allocations=[a.as_dict() for a in quote.allocations],
            overdue=quote.overdue,
            penalty=quote.penalty,
            interest=quote.interest,
            interest_accrued=quote.interest_accrued,
            fee_rate=quote.fee_rate,
            fee=quote.fee,
            principal=quote.principal,
            total=quote.total,
            remaining_principal=quote.remaining_principal,
            replan=quote.replan,
            emi=quote.emi,
            principal_step=quote.principal_step,
            last_k=quote.last_k,
        )
        if quote.kind == "full":
            self.trigger_event(
                self.Closed,
                on=on,
                reason="prepaid",
                residual_interest=quote.interest_accrued - quote.interest,
            )
        return quote

    def waive(self, on: date, *, part: str, amount: Decimal, actor: str, reason: str) -> None:
        """Forgive ``amount`` of unpaid ``part`` (``penalty`` or ``interest``), oldest
        installment first. Only what is owed can be waived."""
        self._require_morning_done(on)
        if part not in ("penalty", "interest"):
            raise CommandRefused(
                f"only penalty or interest can be waived, not {part!r} (a prepayment fee is "
                "paid with the prepayment that charges it: returning it is a refund)"
            )
        if amount <= ZERO:
            raise CommandRefused(f"waiver amount must be positive, got {fmt(amount)}")
        if not reason.strip():
            raise CommandRefused("a waiver needs a reason")
        owed = [(o.k, o.penalty if part == "penalty" else o.interest) for o in self.owed()]
        total = sum((v for _, v in owed), ZERO)
        if amount > total:
            raise CommandRefused(
                f"loan {self.label}: cannot waive {fmt(amount)} of {part}: {fmt(total)} is owed"
                + (
                    " (interest accrued since the last due date is not owed yet)"
                    if part == "interest"
                    else ""
                )
            )
        allocations: list[dict[str, Any]] = []
        left = amount
        for k, value in owed:
            take = min(left, value)
            if take > ZERO:
                allocations.append({"k": k, "amount": take})
                left -= take
        self.trigger_event(
            self.Waived,
            on=on,
            part=part,
            amount=amount,
            allocations=allocations,
            actor=actor,
            reason=reason,
        )
        self._close_if_settled(on)

    def correct(
        self,
        on: date,
        *,
        kind: str,
        effective_on: date,
        amount: Decimal | None,
        reverses: int | None,
        supersedes: list[int],
        refund_due: Decimal,
        corrected: Loan,
        actor: str,
        reason: str,
    ) -> None:
        """Record a correction whose recomputed result is ``corrected`` (the same loan
        replayed from its facts with the correction, see :mod:`ledger.domain.replay`)."""
        if not reason.strip():
            raise CommandRefused("a correction needs a reason")
        state = corrected.derived_state()
        self.trigger_event(
            self.Corrected,
            on=on,
            kind=kind,
            effective_on=effective_on,
            amount=amount,
            reverses=reverses,
            supersedes=supersedes,
            refund_due=refund_due,
            differences=differences(self.derived_state(), state),
            state={**state, "refunds_due": self.refunds_due + refund_due},
            actor=actor,
            reason=reason,
        )

    # ------------------------------------------------------------------ helpers

    def _require_open(self) -> None:
        if self.status == CLOSED:
            raise CommandRefused(f"loan {self.label} is closed (since {self.closed_on})")

    def _require_day_open(self, on: date) -> None:
        self._require_open()
        if on < self.terms.disbursed_on:
            raise CommandRefused(
                f"loan {self.label}: {on} is before its disbursement on {self.terms.disbursed_on}"
            )
        if on <= self.closed_through:
            raise CommandRefused(
                f"loan {self.label}: business day {on} is already closed "
                f"(closed through {self.closed_through})"
            )
        if on > self.next_open_day:
            raise CommandRefused(
                f"loan {self.label}: business days from {self.next_open_day} to "
                f"{on - timedelta(days=1)} are not closed yet"
            )

    def _require_morning_done(self, on: date) -> None:
        self._require_day_open(on)
        if len(self.installments) < self.last_k and (
            rules.due_date(self.terms.disbursed_on, len(self.installments) + 1) <= on
        ):
            raise CommandRefused(f"loan {self.label}: the morning of {on} has not run yet")

    def _close_if_settled(self, on: date) -> None:
        """Close once no principal is left and nothing is owed: normally when the last
        installment is paid; earlier if rounding (e.g. a whole-yuan EMI) used the principal
        up before the last installment. Sub-fen remainders of accrued interest are recorded."""
        if (
            self.status != CLOSED
            and self.principal_not_due == ZERO
            and all(i.settled_on is not None for i in self.installments)
            and round_to(self.interest_accrued, FEN, self.terms.rounding) == ZERO
        ):
            residual = self.interest_accrued
            if self.installments:
                last = self.installments[-1]
                residual += last.interest_after_due - round_to(
                    last.interest_after_due, FEN, self.terms.rounding
                )
            self.trigger_event(self.Closed, on=on, reason="repaid", residual_interest=residual)


# State added after the first release: a loan restored from a snapshot taken before it existed
# reads these defaults from the class (set after the class, which the library makes a dataclass).
Loan.chain_head = GENESIS
Loan.penalty_waived = ZERO
Loan.interest_waived = ZERO
Loan.refunds_due = ZERO
Loan.last_event_on = date.min  # then the last day closed (LoanState.as_of) speaks
