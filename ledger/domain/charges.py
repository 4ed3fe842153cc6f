"""What a loan charged: one definition, used by what-if and by the dispute report.

Charged, per installment ``k`` (loan-rules sections 4 to 7):

- interest = the installment's fixed interest + ``round(interest accrued after its due date)``;
- penalty = ``round(penalty accrued on it)`` (section 6), before any waiver; on a loan that
  splits it (section 11), plus ``round(compound interest accrued on it)``, each rounded apart;
- fee = its handling fee (section 13; zero on a loan that charges none);
- and a row ``k = 0`` for what is charged outside the installments: the interest and the fee
  a prepayment collected (section 7), the handling fees of the installments not yet due that a
  full prepayment charged (section 13) and, while the loan is open, the interest accrued since
  the last due date, rounded as a payoff would charge it (on a written-off loan, what the
  write-off took of it, section 14).

The history to count is the one the rules give from the loan's facts (the replay of
:mod:`ledger.domain.replay`), so a correction's recomputation is counted once, as corrected.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, round_to
from ledger.domain.state import LoanState

PARTS = ("interest", "penalty", "fee")
Charges = dict[int, dict[str, Decimal]]


def charges(state: LoanState, events: Sequence[Any]) -> tuple[Charges, dict[str, Decimal]]:
    """Charged per installment (and ``k = 0`` outside them), and in total, by part."""
    rows: Charges = {}
    r = state.terms.rounding
    for inst in state.installments:
        rows[inst.k] = {
            "interest": inst.interest + round_to(inst.interest_after_due, FEN, r),
            "penalty": round_to(inst.penalty_accrued, FEN, r)
            + round_to(inst.compound_accrued, FEN, r),  # zero unless the loan splits (s. 11)
            "fee": inst.fee,  # section 13's handling fee, zero on other loans
        }
    prepaid = [e for e in events if isinstance(e, Loan.Prepaid)]
    remaining = [e.charged for e in events if isinstance(e, Loan.RemainingFeesAssessed)]
    if prepaid:
        rows[0] = {
            "interest": sum((e.interest for e in prepaid), ZERO),
            "penalty": ZERO,
            "fee": sum((e.fee for e in prepaid), ZERO) + sum(remaining, ZERO),
        }
    if not state.is_closed:
        rows.setdefault(0, {p: ZERO for p in PARTS})
        rows[0]["interest"] += state.interest_accrued_rounded
    for e in events:  # section 14: the accrued interest a write-off took was charged too
        if isinstance(e, Loan.WrittenOff) and e.interest_accrued:
            rows.setdefault(0, {p: ZERO for p in PARTS})
            rows[0]["interest"] += e.interest_accrued
    total = {p: sum((row[p] for row in rows.values()), ZERO) for p in PARTS}
    return rows, total
