"""One fixed installment of a loan and what has been paid, waived and accrued on it
(loan-rules sections 5, 6 and 11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain import rules
from ledger.domain.money import FEN, ZERO, Exact, round_to
from ledger.domain.terms import Terms


@dataclass
class Installment:
    """One fixed installment and what has been paid on it (loan-rules sections 5 and 6)."""

    k: int
    due_date: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_accrued: Decimal | Exact = ZERO  # unrounded, section 4
    penalty_paid: Decimal = ZERO
    # last installment only: normal interest after its due date (unrounded)
    interest_after_due: Decimal | Exact = ZERO
    overdue_from: date | None = None  # first overdue day
    settled_on: date | None = None
    penalty_waived: Decimal = ZERO  # forgiven, not paid (a waiver)
    interest_waived: Decimal = ZERO
    # when money last reached it: bookkeeping for the schedule, not a figure the rules derive,
    # so a correction does not record it and two histories compare equal without it
    last_paid_on: date | None = field(default=None, compare=False)
    # section 11, a loan naming compound_multiplier: compound interest on its overdue interest
    # (its penalty is then on the overdue principal only); zero on any other loan
    compound_accrued: Decimal | Exact = ZERO  # unrounded
    compound_paid: Decimal = ZERO
    compound_waived: Decimal = ZERO
    # section 13, a bank_installment loan: the handling fee fixed with it, and what was paid
    fee: Decimal = ZERO
    fee_paid: Decimal = ZERO
    # section 16: an installment of a payment holiday (nothing fell due on it)
    holiday: bool = False

    def owed(self, terms: Terms) -> rules.Owed:
        """Section 6: what is still owed on this installment, by part; section 11: compound
        interest ``round(accrued) - paid - waived`` on its own, on a loan that splits it;
        section 13: the handling fee ``fee - paid``, on a loan that charges one."""
        interest_total = self.interest + round_to(self.interest_after_due, FEN, terms.rounding)
        compound = None
        if terms.splits_penalty:
            compound = rules.unpaid_penalty(
                self.compound_accrued, self.compound_paid + self.compound_waived, terms.rounding
            )
        return rules.Owed(
            k=self.k,
            penalty=rules.unpaid_penalty(
                self.penalty_accrued, self.penalty_paid + self.penalty_waived, terms.rounding
            ),
            interest=interest_total - self.interest_paid - self.interest_waived,
            principal=self.principal - self.principal_paid,
            compound=compound,
            fee=self.fee - self.fee_paid if terms.charges_handling_fee else None,
        )

    @property
    def principal_due(self) -> Decimal:
        return self.principal - self.principal_paid

    def as_dict(self) -> dict[str, Any]:
        """Every field (a snapshot keeps them all, and its seal is over them); the compound
        fields (section 11), the fee fields (section 13) and ``holiday`` (section 16) only
        when one of them is not zero (true), so an installment reads, and a snapshot or a
        correction's state seals and hashes, as before they existed."""
        fields = dict(vars(self))
        for group in (COMPOUND_FIELDS, FEE_FIELDS, ("holiday",)):
            if not any(fields[name] for name in group):
                for name in group:
                    del fields[name]
        return fields

    def derived(self) -> dict[str, Any]:
        """The fields a correction recomputes and records (``last_paid_on`` is bookkeeping
        of when money arrived, not something the rules derive)."""
        fields = self.as_dict()
        del fields["last_paid_on"]
        return fields


COMPOUND_FIELDS = ("compound_accrued", "compound_paid", "compound_waived")
FEE_FIELDS = ("fee", "fee_paid")
