"""A loan's state, and every figure derived from it: one home for each figure.

:class:`LoanState` is what a loan's events leave behind. The ``Loan`` aggregate is one (it
inherits this class), the projections' fold is another; both are moved only by
:func:`ledger.domain.loan.evolve`, one function per event class, so the command side, the read
models, the presenters, explain and the report all read the same numbers. The figures below
are computed from the state here and nowhere else:

- what is owed per installment (loan-rules section 6): penalty ``round(accrued) - paid -
  waived`` (and, section 11, compound interest the same way on a loan that splits it),
  interest ``fixed + round(interest after the due date) - paid - waived``, principal ``fixed -
  paid``;
- the amount due (sum of what is owed), the overdue amount (interest + principal of overdue
  installments), the principal outstanding, the payoff interest (``round(interest accrued)``,
  section 7), days past due and status (section 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain import per_transaction, plan, rules
from ledger.domain.collection import CollectionState
from ledger.domain.credit import CreditState, credit_defaults
from ledger.domain.installment import Installment
from ledger.domain.money import FEN, ZERO, Exact, round_to
from ledger.domain.non_accrual import NonAccrualState
from ledger.domain.terms import Terms
from ledger.domain.write_off import WRITTEN_OFF, WriteOffState

ACTIVE = "active"
OVERDUE = "overdue"
CLOSED = "closed"
# derived state a correction records only where it was set (sections 10, 13, 15)
OPTIONAL_DERIVED = (
    "piece_from",
    "handling_fees_charged",
    "non_accrual_since",
    *(f"{c}_suspended" for c in ("interest", "penalty", "compound")),
    "holiday_through",  # section 16
    "deductions_in_flight",  # section 17
)


@dataclass(frozen=True)
class Figures:
    """A loan's figures as of one business date (``as_of``), each computed once, here.

    ``as_of`` is the business date the figures belong to: the day of the newest event folded
    in (a repayment recorded for day D makes them D's, even before D is closed), or the day a
    reader asked for. ``day_closed`` says whether that day's end-of-day has run."""

    as_of: date
    day_closed: bool
    status: str
    principal_outstanding: Decimal
    interest_accrued: Decimal  # rounded, as a payoff would charge it (section 7)
    penalty_accrued: Decimal  # penalty owed: round(accrued) - paid - waived (section 6)
    overdue_amount: Decimal
    amount_due: Decimal
    days_past_due: int
    overdue_since: date | None
    next_k: int | None
    next_due_date: date | None
    next_due_amount: Decimal | None  # as planned now (section 5)
    principal_repaid: Decimal
    interest_paid: Decimal
    penalty_paid: Decimal
    fees_paid: Decimal
    closed_on: date | None
    credit: Decimal  # owed to the borrower (section 12)
    # section 11: compound interest owed, round(accrued) - paid - waived per installment;
    # None on a loan that does not name compound_multiplier (its penalty covers both)
    compound_accrued: Decimal | None = None
    # section 13: handling fees owed on installments due (in amount_due); None on a loan that
    # charges none
    handling_fees_owed: Decimal | None = None
    # section 14, a written-off loan only: the total written off, and what is not recovered
    written_off: Decimal | None = None
    written_off_outstanding: Decimal | None = None
    # section 15, an open loan in non-accrual only: the day it started
    non_accrual_since: date | None = None


class LoanState(NonAccrualState, WriteOffState, CreditState, CollectionState):
    """The state of one loan: terms, plan, installments, what accrued and what was paid."""

    # the state a correction replaces (everything the rules derived, not the terms)
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
        *CreditState.CREDIT_DERIVED,
    )

    chain_head: str
    reference: str | None
    terms: Terms
    monthly_rate: Decimal
    emi: Decimal
    principal_step: Decimal
    last_k: int
    principal_not_due: Decimal
    interest_accrued: Decimal | Exact  # unrounded, since the last due date
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
    refunds_due: Decimal  # money received and not used: held as credit, less credit used
    last_event_on: date  # the business date of the newest event folded in
    # section 10, a per_transaction loan: the day of its latest partial prepayment, which
    # started a new piece; None (the class's) for every other loan, and until one
    piece_from: date | None = None
    # section 13: the handling fees of installments not yet due that payoffs charged (paid
    # with the payoff); zero (the class's) for every other loan
    handling_fees_charged: Decimal = ZERO
    # section 16: the last installment of a payment holiday (0, the class's: none was given)
    holiday_through: int = 0

    def start(
        self,
        *,
        on: date,
        reference: str | None,
        terms: Terms,
        monthly_rate: Decimal,
        emi: Decimal,
        principal_step: Decimal,
        chain: str,
    ) -> None:
        """The state of a loan just disbursed on ``on``."""
        self.chain_head = chain
        self.reference = reference
        self.terms = terms
        self.monthly_rate = monthly_rate
        self.emi = emi
        self.principal_step = principal_step
        self.last_k = terms.term
        self.principal_not_due = terms.principal
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
        self.start_credit()
        self.last_event_on = on

    # ------------------------------------------------------------------ moving the state

    def pay(self, allocations: list[dict[str, Any]], on: date) -> None:
        """Money received on ``on``, already allocated (section 6)."""
        for a in allocations:
            inst = self.installments[int(a["k"]) - 1]
            inst.penalty_paid += a["penalty"]
            inst.compound_paid += a.get("compound", ZERO)  # section 11 only
            inst.fee_paid += a.get("fee", ZERO)  # section 13 only
            inst.interest_paid += a["interest"]
            inst.principal_paid += a["principal"]
            inst.last_paid_on = on
            self.penalty_paid += a["penalty"]
            self.interest_paid += a["interest"]
            self.principal_repaid += a["principal"]
            if inst.owed(self.terms).total == ZERO:
                inst.settled_on = on

    def derived_state(self) -> dict[str, Any]:
        """Everything the rules derived for this loan (not its terms): what a correction
        replaces (``piece_from``, section 10, only once a prepayment set it)."""
        state = {name: getattr(self, name) for name in self.DERIVED}
        state["installments"] = [i.derived() for i in self.installments]
        for name in OPTIONAL_DERIVED:  # sections 10, 13, 15 and 17, only where set
            if getattr(self, name) not in (None, ZERO):
                state[name] = getattr(self, name)
        return state

    def restore(self, state: dict[str, Any]) -> None:
        """Take the state a correction recorded; keep when money last reached each
        installment (the correction does not record it)."""
        paid_on = {i.k: i.last_paid_on for i in self.installments}
        absent = credit_defaults()  # a correction recorded before credit existed
        for name in self.DERIVED:
            setattr(self, name, state[name] if name in state else absent[name])
        self.installments = [
            Installment(**{**i, "last_paid_on": paid_on.get(int(i["k"]))})
            for i in state["installments"]
        ]
        for name in OPTIONAL_DERIVED:  # only where they were set
            if name in state:
                setattr(self, name, state[name])
            else:
                vars(self).pop(name, None)  # back to the class's default

    @property
    def piece_origin(self) -> tuple[date, int]:
        """Section 10: the current piece starts on ``origin + offset months``: the period's
        start (the latest due date, or the disbursement), counted from the loan's origin, or
        a later partial prepayment's day (:func:`ledger.domain.per_transaction.piece_origin`)."""
        t = self.terms
        fixed = len(self.installments)
        return per_transaction.piece_origin(
            t.disbursed_on, t.first_due_date, fixed, self.piece_from
        )

    # ------------------------------------------------------------------ figures

    @property
    def as_of(self) -> date:
        """The business date the state belongs to: the newest event's, or the last day
        closed if that is later."""
        return max(self.last_event_on, self.closed_through)

    def figures(self, as_of: date | None = None) -> Figures:
        """Every figure of the loan, at ``as_of`` (default: :attr:`as_of`)."""
        day = as_of or self.as_of
        next_k = self.next_k
        next_amount = None
        if next_k is not None:
            _, _, principal, interest = self.planned_parts(next_k, count=1)[0]
            next_amount = principal + interest + self.handling_fee
        return Figures(
            as_of=day,
            day_closed=day <= self.closed_through,
            status=self.loan_status,
            principal_outstanding=self.principal_outstanding,
            interest_accrued=self.interest_accrued_rounded,
            penalty_accrued=self.penalty_owed,
            overdue_amount=self.overdue_amount,
            amount_due=self.amount_due,
            days_past_due=self.days_past_due(day),
            overdue_since=self.overdue_since,
            next_k=next_k,
            next_due_date=self.terms.due_date(next_k) if next_k else None,
            next_due_amount=next_amount,
            principal_repaid=self.principal_repaid,
            interest_paid=self.interest_paid,
            penalty_paid=self.penalty_paid,
            fees_paid=self.fees_paid,
            closed_on=self.closed_on,
            credit=self.credit,
            compound_accrued=self.compound_owed if self.terms.splits_penalty else None,
            handling_fees_owed=(
                self.handling_fees_owed if self.terms.charges_handling_fee else None
            ),
            written_off=self.written_off if self.is_written_off else None,
            written_off_outstanding=(self.written_off_outstanding if self.is_written_off else None),
            non_accrual_since=None if self.is_closed else self.non_accrual_since,
        )

    @property
    def label(self) -> str:
        return self.reference or str(getattr(self, "id", ""))

    @property
    def is_closed(self) -> bool:
        """Closed, or written off (section 14): its business days no longer run."""
        return self.status in (CLOSED, WRITTEN_OFF)

    def owed(self) -> list[rules.Owed]:
        """What is owed on each fixed installment that is not settled, oldest first (nothing
        once written off, section 14)."""
        if self.status == WRITTEN_OFF:
            return []
        return [i.owed(self.terms) for i in self.installments if i.settled_on is None]

    @property
    def amount_due(self) -> Decimal:
        """Everything due or overdue: what the morning deduction asks for (section 3)."""
        return sum((o.total for o in self.owed()), ZERO)

    @property
    def principal_outstanding(self) -> Decimal:
        if self.status == WRITTEN_OFF:
            return ZERO  # section 14: written off (principal_written_off)
        return self.principal_not_due + sum((i.principal_due for i in self.installments), ZERO)

    @property
    def overdue_installments(self) -> list[Installment]:
        if self.status == WRITTEN_OFF:
            return []
        return [i for i in self.installments if i.overdue_from is not None and i.settled_on is None]

    @property
    def overdue_amount(self) -> Decimal:
        """Interest and principal of the overdue installments (section 6; no penalty)."""
        overdue = {i.k for i in self.overdue_installments}
        return sum((o.interest + o.principal for o in self.owed() if o.k in overdue), ZERO)

    @property
    def penalty_owed(self) -> Decimal:
        return sum((o.penalty for o in self.owed()), ZERO)

    @property
    def handling_fees_owed(self) -> Decimal:
        """Section 13: handling fees of installments due, not paid (zero on other loans)."""
        return sum((o.fee or ZERO for o in self.owed()), ZERO)

    @property
    def compound_owed(self) -> Decimal:
        """Section 11: compound interest owed (zero on a loan that does not split penalty)."""
        return sum((o.compound or ZERO for o in self.owed()), ZERO)

    @property
    def handling_fee(self) -> Decimal:
        """Section 13: the handling fee each installment carries, ``round(P x f)`` (zero on a
        loan that charges none)."""
        t = self.terms
        if t.fee_rate_per_period is None:
            return ZERO
        return rules.handling_fee(t.principal, t.fee_rate_per_period, t.rounding)

    @property
    def charges_owed(self) -> Decimal:
        """Penalty and compound interest owed: the charges on what is overdue (sections 6
        and 11)."""
        return self.penalty_owed + self.compound_owed

    @property
    def interest_accrued_rounded(self) -> Decimal:
        """Normal interest accrued since the last due date, as a payoff rounds it (section 7)."""
        return round_to(self.interest_accrued, FEN, self.terms.rounding)

    @property
    def interest_owed(self) -> Decimal:
        """Interest of fixed installments not paid, plus the accrued interest, rounded."""
        return sum((o.interest for o in self.owed()), ZERO) + self.interest_accrued_rounded

    @property
    def balance(self) -> Decimal:
        """What the borrower owes, to the fen: principal + interest + penalty (+ compound
        interest, section 11; + handling fees due, section 13) (section 7)."""
        return (
            self.principal_outstanding
            + self.interest_owed
            + self.charges_owed
            + self.handling_fees_owed
        )

    @property
    def loan_status(self) -> str:
        if self.status in (CLOSED, WRITTEN_OFF):
            return self.status
        return OVERDUE if self.overdue_installments else ACTIVE

    @property
    def overdue_since(self) -> date | None:
        overdue = self.overdue_installments
        return overdue[0].overdue_from if overdue else None

    def days_past_due(self, as_of: date | None = None) -> int:
        """Days since the first overdue day of the oldest overdue installment, counting
        that day as 1 (section 6); 0 when nothing is overdue."""
        since = self.overdue_since
        if since is None:
            return 0
        return max(((as_of or self.closed_through) - since).days + 1, 0)

    @property
    def next_open_day(self) -> date:
        return self.closed_through + timedelta(days=1)

    @property
    def next_k(self) -> int | None:
        """The next installment to fall due, or ``None`` when none will."""
        k = len(self.installments) + 1
        return None if self.is_closed or k > self.last_k else k

    def planned_parts(
        self, first_k: int, count: int | None = None
    ) -> list[tuple[int, date, Decimal, Decimal]]:
        """Installments ``first_k..last_k`` (or ``count`` of them) as planned now: (k, due
        date, principal, interest) (:func:`ledger.domain.plan.planned_parts`)."""
        return plan.planned_parts(self, first_k, count)
