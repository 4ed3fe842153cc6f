"""The plan of a loan's installments not yet fixed (loan-rules section 5, and the payment
holiday of section 16), as :meth:`LoanState.planned_parts` shows it: an estimate for display;
what is charged is fixed on each due date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.domain import rules
from ledger.domain.money import FEN, ZERO, round_to
from ledger.domain.terms import Method

if TYPE_CHECKING:
    from ledger.domain.state import LoanState

Row = tuple[int, date, Decimal, Decimal]  # k, due date, principal, interest


def planned_parts(state: LoanState, first_k: int, count: int | None = None) -> list[Row]:
    """Installments ``first_k..last_k`` (or ``count`` of them) as planned now: (k, due date,
    principal, interest), interest estimated as base x the monthly rate (section 5: the
    remaining principal, ``P`` for ``flat``), from the plan in force (re-planned by partial
    prepayments and restructurings). Section 16: an installment of a payment holiday is
    planned with nothing; the first one after it carries the interest of the holiday's months
    too, ``round(base x r x (1 + months))``, its principal as if its interest were
    ``round(base x r)``."""
    t = state.terms
    rows: list[Row] = []
    remaining = state.principal_not_due
    last = state.last_k if count is None else min(state.last_k, first_k + count - 1)
    months = 0  # holiday installments just before k (fixed ones too)
    for inst in reversed(state.installments[: first_k - 1]):
        if not inst.holiday:
            break
        months += 1
    for k in range(first_k, last + 1):
        if k <= state.holiday_through:
            rows.append((k, t.due_date(k), ZERO, ZERO))
            months += 1
            continue
        base = t.principal if t.method is Method.FLAT else remaining
        parts = rules.installment_parts(
            method=t.method,
            is_last=k == state.last_k,
            emi_amount=state.emi,
            principal_step=state.principal_step,
            remaining_principal=remaining,
            interest_accrued=base * state.monthly_rate,
            rounding=t.rounding,
        )
        interest = parts.interest
        if months:
            interest = round_to(base * state.monthly_rate * (1 + months), FEN, t.rounding)
            months = 0
        remaining -= parts.principal
        rows.append((k, t.due_date(k), parts.principal, interest))
    return rows
