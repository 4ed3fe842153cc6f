"""The ``Loan`` aggregate: every money fact of one loan as an event.

Commands validate, compute once with :mod:`ledger.domain.rules`, and trigger one past-tense
event that carries the computed amounts *and* the inputs that produced them, so that an
auditor can redo the arithmetic from the event alone. ``apply`` methods only move state.

The business day (loan-rules section 3) is driven from outside, in this order:
``fix_due_installments(d)`` and ``deduct(d, ...)`` in the morning, ``repay``/``prepay`` during
the day, ``close_day(d)`` at the end of the day (accrual, then overdue marking).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.actor import UNKNOWN, current_actor
from ledger.domain.chain import GENESIS, link
from ledger.domain.errors import CommandRefused
from ledger.domain.terms import Method, Replan, Terms
from ledger.money import FEN, ZERO, fmt, round_to

ACTIVE = "active"
OVERDUE = "overdue"
CLOSED = "closed"


@dataclass
class Installment:
    """One fixed installment and what has been paid on it (loan-rules sections 5 and 6)."""

    k: int
    due_date: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_accrued: Decimal = ZERO  # unrounded, section 4
    penalty_paid: Decimal = ZERO
    interest_after_due: Decimal = ZERO  # last installment only: normal interest after its due date
    overdue_from: date | None = None  # first overdue day
    settled_on: date | None = None
    penalty_waived: Decimal = ZERO  # forgiven, not paid (a waiver)
    interest_waived: Decimal = ZERO

    def owed(self, terms: Terms) -> rules.Owed:
        interest_total = self.interest + round_to(self.interest_after_due, FEN, terms.rounding)
        return rules.Owed(
            k=self.k,
            penalty=rules.unpaid_penalty(
                self.penalty_accrued, self.penalty_paid + self.penalty_waived, terms.rounding
            ),
            interest=interest_total - self.interest_paid - self.interest_waived,
            principal=self.principal - self.principal_paid,
        )

    @property
    def principal_due(self) -> Decimal:
        return self.principal - self.principal_paid

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class PrepaymentQuote:
    """What a prepayment on ``on`` pays (loan-rules section 7)."""

    on: date
    kind: str  # "full" or "partial"
    allocations: tuple[rules.Allocation, ...]
    overdue: Decimal  # principal + interest of installments due and unpaid
    penalty: Decimal
    interest: Decimal  # round(normal interest accrued since the last due date)
    interest_accrued: Decimal  # the same, unrounded
    fee_rate: Decimal
    fee: Decimal
    principal: Decimal
    remaining_principal: Decimal  # principal not yet fallen due, after the prepayment
    replan: str | None = None
    emi: Decimal | None = None
    principal_step: Decimal | None = None
    last_k: int | None = None

    @property
    def total(self) -> Decimal:
        return self.overdue + self.penalty + self.interest + self.fee + self.principal


def _unchained(state: dict[str, Any]) -> None:
    """Loan events v1 -> v2: recorded before the hash chain existed."""
    state["chain"] = GENESIS


def _asker_unknown(state: dict[str, Any]) -> None:
    """Loan events v2 -> v3: who asked was not recorded before version 3."""
    state["recorded_by"] = UNKNOWN


class Loan(Aggregate):
    """A consumer loan. State is only ever changed by its events."""

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

        def mutate(self, aggregate: Any) -> Any:
            loan = super().mutate(aggregate)
            if loan is not None:
                loan.chain_head = self.chain
            return loan

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

        def apply(self, loan: Loan) -> None:
            installment = Installment(self.k, self.due_date, self.principal, self.interest)
            if self.principal == ZERO and self.interest == ZERO:
                installment.settled_on = self.on  # nothing to pay: settled as it falls due
            loan.installments.append(installment)
            loan.principal_not_due -= self.principal
            loan.interest_accrued = ZERO

    class InstallmentDeducted(Event):
        """Morning deduction from the linked account collected ``collected`` of ``requested``,
        allocated oldest first, penalty then interest then principal (section 6)."""

        on: date
        requested: Decimal
        collected: Decimal
        allocations: list[dict[str, Any]]

        def apply(self, loan: Loan) -> None:
            loan.last_deduction_on = self.on
            loan._apply_allocations(self.allocations, self.on)

    class DeductionFailed(Event):
        """Morning deduction of ``requested`` collected nothing."""

        on: date
        requested: Decimal

        def apply(self, loan: Loan) -> None:
            loan.last_deduction_on = self.on

    class Repaid(Event):
        """A manual repayment of ``amount``, allocated as in section 6."""

        on: date
        amount: Decimal
        allocations: list[dict[str, Any]]

        def apply(self, loan: Loan) -> None:
            loan._apply_allocations(self.allocations, self.on)

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

        def apply(self, loan: Loan) -> None:
            if self.into == "period":
                loan.interest_accrued += self.normal
            else:
                loan.installments[-1].interest_after_due += self.normal
            for p in self.penalties:
                loan.installments[int(p["k"]) - 1].penalty_accrued += p["amount"]
            loan.closed_through = self.on

    class Overdue(Event):
        """Installment ``k`` was not fully paid by the end of its due date + grace days;
        penalty on it starts with the accrual of ``overdue_from``."""

        on: date
        k: int
        overdue_from: date
        principal: Decimal
        interest: Decimal

        def apply(self, loan: Loan) -> None:
            loan.installments[self.k - 1].overdue_from = self.overdue_from

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

        def apply(self, loan: Loan) -> None:
            loan._apply_allocations(self.allocations, self.on)
            loan.interest_accrued = ZERO
            loan.principal_not_due -= self.principal
            loan.principal_repaid += self.principal
            loan.interest_paid += self.interest
            loan.fees_paid += self.fee
            if self.emi is not None:
                loan.emi = self.emi
            if self.principal_step is not None:
                loan.principal_step = self.principal_step
            if self.last_k is not None:
                loan.last_k = self.last_k

    class Closed(Event):
        """Nothing more is owed: the loan closes; nothing more accrues or is deducted.
        ``residual_interest`` is the sub-fen remainder of accrued interest left by rounding."""

        on: date
        reason: str
        residual_interest: Decimal

        def apply(self, loan: Loan) -> None:
            loan.status = CLOSED
            loan.closed_on = self.on

    class Waived(Event):
        """Penalty or interest forgiven (goodwill or the outcome of a dispute): ``amount`` of
        ``part``, taken from the oldest unsettled installments first. No money moved."""

        on: date
        part: str  # "penalty" or "interest"
        amount: Decimal
        allocations: list[dict[str, Any]]
        actor: str
        reason: str

        def apply(self, loan: Loan) -> None:
            for a in self.allocations:
                inst = loan.installments[int(a["k"]) - 1]
                if self.part == "penalty":
                    inst.penalty_waived += a["amount"]
                    loan.penalty_waived += a["amount"]
                else:
                    inst.interest_waived += a["amount"]
                    loan.interest_waived += a["amount"]
                if inst.owed(loan.terms).total == ZERO:
                    inst.settled_on = self.on

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

        def apply(self, loan: Loan) -> None:
            loan._restore(self.state)

    # ------------------------------------------------------------------ state

    chain_head: str  # the chain of the last event applied
    reference: str | None
    terms: Terms
    monthly_rate: Decimal
    emi: Decimal
    principal_step: Decimal
    last_k: int
    principal_not_due: Decimal
    interest_accrued: Decimal
    installments: list[Installment]
    closed_through: date
    last_deduction_on: date | None
    status: str
    closed_on: date | None
    principal_repaid: Decimal
    interest_paid: Decimal
    penalty_paid: Decimal
    fees_paid: Decimal
    penalty_waived: Decimal
    interest_waived: Decimal
    refunds_due: Decimal

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
        self.chain_head = chain
        self.reference = reference
        self.terms = Terms.from_event_fields({**terms, "disbursed_on": on})
        self.monthly_rate = monthly_rate
        self.emi = emi
        self.principal_step = principal_step
        self.last_k = self.terms.term
        self.principal_not_due = self.terms.principal
        self.interest_accrued = ZERO
        self.installments = []
        self.closed_through = on - timedelta(days=1)
        self.last_deduction_on = None
        self.status = ACTIVE
        self.closed_on = None
        self.principal_repaid = ZERO
        self.interest_paid = ZERO
        self.penalty_paid = ZERO
        self.fees_paid = ZERO
        self.penalty_waived = ZERO
        self.interest_waived = ZERO
        self.refunds_due = ZERO

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
        t = self.terms
        rate = rules.day_rate(
            on, daily_rate=t.daily_rate, annual_rate=t.annual_rate, day_count=t.day_count
        )
        if t.method is Method.FLAT:
            base = t.principal
        else:
            base = self.principal_not_due + sum(
                (i.principal_due for i in self.installments if i.overdue_from is None), ZERO
            )
        penalties: list[dict[str, Any]] = []
        penalty_total = ZERO
        for inst in self.installments:
            if inst.overdue_from is not None and inst.overdue_from <= on:
                owed = inst.owed(t)
                overdue_base = owed.principal + owed.interest
                if overdue_base > ZERO:
                    amount = rules.penalty_interest(overdue_base, rate, t.penalty_multiplier)
                    penalties.append({"k": inst.k, "base": overdue_base, "amount": amount})
                    penalty_total += amount
        self.trigger_event(
            self.InterestAccrued,
            on=on,
            base=base,
            rate=rate.rate,
            days=rate.days,
            normal=rules.normal_interest(base, rate),
            penalty_multiplier=t.penalty_multiplier,
            penalties=penalties,
            penalty=penalty_total,
            into="last_installment" if len(self.installments) == self.last_k else "period",
        )
        for inst in self.installments:
            owed = inst.owed(t)
            if (
                inst.overdue_from is None
                and inst.settled_on is None
                and inst.due_date + timedelta(days=t.grace_days) <= on
                and owed.total > ZERO
            ):
                self.trigger_event(
                    self.Overdue,
                    on=on,
                    k=inst.k,
                    overdue_from=on + timedelta(days=1),
                    principal=owed.principal,
                    interest=owed.interest,
                )

    def quote_prepayment(
        self,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
    ) -> PrepaymentQuote:
        """Section 7: what a full (``amount=None``) or partial prepayment on ``on`` pays."""
        self._require_morning_done(on)
        t = self.terms
        owed = self.owed()
        overdue = sum((o.interest + o.principal for o in owed), ZERO)
        penalty = sum((o.penalty for o in owed), ZERO)
        interest = round_to(self.interest_accrued, FEN, t.rounding)
        allocations = tuple(rules.allocate(overdue + penalty, owed)[0])
        if amount is None:
            fee = rules.prepayment_fee(self.principal_not_due, t.prepayment_fee_rate, t.rounding)
            return PrepaymentQuote(
                on=on,
                kind="full",
                allocations=allocations,
                overdue=overdue,
                penalty=penalty,
                interest=interest,
                interest_accrued=self.interest_accrued,
                fee_rate=t.prepayment_fee_rate,
                fee=fee,
                principal=self.principal_not_due,
                remaining_principal=ZERO,
            )
        if amount <= ZERO:
            raise CommandRefused(f"prepayment amount must be positive, got {fmt(amount)}")
        before_principal = overdue + penalty + interest
        left = amount - before_principal
        if left <= ZERO:
            raise CommandRefused(
                f"loan {self.label}: {fmt(amount)} does not exceed the {fmt(before_principal)} "
                f"due and accrued on {on}, so it would prepay no principal; use repay"
            )
        principal, fee = rules.split_partial_prepayment(left, t.prepayment_fee_rate, t.rounding)
        if principal >= self.principal_not_due:
            payoff = self.quote_prepayment(on).total
            raise CommandRefused(
                f"loan {self.label}: {fmt(amount)} would repay all the remaining principal; "
                f"use a full prepayment (payoff {fmt(payoff)})"
            )
        if principal <= ZERO:
            raise CommandRefused(f"loan {self.label}: {fmt(amount)} would prepay no principal")
        remaining = self.principal_not_due - principal
        periods_left = self.last_k - len(self.installments)
        emi: Decimal | None = None
        step: Decimal | None = None
        last_k: int | None = None
        if replan is Replan.REDUCE_INSTALLMENT:
            if t.method is Method.EQUAL_INSTALLMENT:
                emi = rules.emi(
                    remaining, self.monthly_rate, periods_left, t.installment_multiple, t.rounding
                )
            elif t.method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
                step = rules.principal_per_installment(remaining, periods_left, t.rounding)
        else:
            if t.method is Method.INTEREST_FIRST:
                raise CommandRefused(
                    "reduce_term does not apply to interest_first: its principal is all due "
                    "with the last installment; use reduce_installment"
                )
            needed = rules.periods_to_repay(
                remaining,
                method=t.method,
                rate=self.monthly_rate,
                emi_amount=self.emi,
                principal_step=self.principal_step,
            )
            last_k = len(self.installments) + min(needed, periods_left)
        return PrepaymentQuote(
            on=on,
            kind="partial",
            allocations=allocations,
            overdue=overdue,
            penalty=penalty,
            interest=interest,
            interest_accrued=self.interest_accrued,
            fee_rate=t.prepayment_fee_rate,
            fee=fee,
            principal=principal,
            remaining_principal=remaining,
            replan=replan.value,
            emi=emi,
            principal_step=step,
            last_k=last_k,
        )

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

    DERIVED = (
        "emi",
        "principal_step",
        "last_k",
        "principal_not_due",
        "interest_accrued",
        "closed_through",
        "last_deduction_on",
        "status",
        "closed_on",
        "principal_repaid",
        "interest_paid",
        "penalty_paid",
        "fees_paid",
        "penalty_waived",
        "interest_waived",
        "refunds_due",
    )

    def derived_state(self) -> dict[str, Any]:
        """Everything the rules derived for this loan (not its terms): what a correction
        replaces."""
        state = {name: getattr(self, name) for name in self.DERIVED}
        state["installments"] = [i.as_dict() for i in self.installments]
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        for name in self.DERIVED:
            setattr(self, name, state[name])
        self.installments = [Installment(**i) for i in state["installments"]]

    # ------------------------------------------------------------------ queries

    @property
    def label(self) -> str:
        return self.reference or str(self.id)

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    def owed(self) -> list[rules.Owed]:
        """What is owed on each fixed installment that is not settled, oldest first."""
        return [i.owed(self.terms) for i in self.installments if i.settled_on is None]

    @property
    def amount_due(self) -> Decimal:
        """Everything due or overdue: what the morning deduction asks for (section 3)."""
        return sum((o.total for o in self.owed()), ZERO)

    @property
    def principal_outstanding(self) -> Decimal:
        return self.principal_not_due + sum((i.principal_due for i in self.installments), ZERO)

    @property
    def overdue_installments(self) -> list[Installment]:
        return [i for i in self.installments if i.overdue_from is not None and i.settled_on is None]

    @property
    def loan_status(self) -> str:
        if self.status == CLOSED:
            return CLOSED
        return OVERDUE if self.overdue_installments else ACTIVE

    def days_past_due(self, as_of: date | None = None) -> int:
        """Days since the first overdue day of the oldest overdue installment, counting
        that day as 1 (section 6); 0 when nothing is overdue."""
        day = as_of or self.closed_through
        overdue = self.overdue_installments
        if not overdue:
            return 0
        first_overdue_day = overdue[0].overdue_from
        assert first_overdue_day is not None
        return max((day - first_overdue_day).days + 1, 0)

    @property
    def next_open_day(self) -> date:
        return self.closed_through + timedelta(days=1)

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

    def _apply_allocations(self, allocations: list[dict[str, Any]], on: date) -> None:
        for a in allocations:
            inst = self.installments[int(a["k"]) - 1]
            inst.penalty_paid += a["penalty"]
            inst.interest_paid += a["interest"]
            inst.principal_paid += a["principal"]
            self.penalty_paid += a["penalty"]
            self.interest_paid += a["interest"]
            self.principal_repaid += a["principal"]
            if inst.owed(self.terms).total == ZERO:
                inst.settled_on = on

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


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after - before`` for every amount that changed, per figure and per installment
    (dates and statuses as ``[before, after]``)."""
    result: dict[str, Any] = {}
    for name in Loan.DERIVED:
        a, b = before.get(name), after.get(name)
        if a != b:
            result[name] = b - a if isinstance(a, Decimal) and isinstance(b, Decimal) else [a, b]
    per_k: dict[str, Any] = {}
    old = {i["k"]: i for i in before["installments"]}
    for inst in after["installments"]:
        prior = old.pop(inst["k"], None)
        changed: dict[str, Any] = {}
        for field_name, value in inst.items():
            was = prior.get(field_name) if prior else None
            if was != value:
                changed[field_name] = (
                    value - was
                    if isinstance(value, Decimal) and isinstance(was, Decimal)
                    else [was, value]
                )
        if changed:
            per_k[str(inst["k"])] = changed
    for k in old:
        per_k[str(k)] = "removed"
    if per_k:
        result["installments"] = per_k
    return result
