"""The end of a business day for one loan (loan-rules sections 4 and 6), computed from its
state alone: the day's accrual and the installments that become overdue. The ``Loan``
aggregate records them as ``InterestAccrued`` and ``Overdue``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain import rules
from ledger.domain.money import ZERO, Exact, accumulate, readable
from ledger.domain.state import LoanState
from ledger.domain.terms import Method


def accrual_of(loan: LoanState, on: date) -> dict[str, Any]:
    """Section 4, the accrual of day ``on``, unrounded: normal interest = base x rate x days
    / divisor (base: the principal not yet overdue; the original principal for a flat loan),
    and per overdue installment penalty = (its principal + interest owed) x rate x days /
    divisor x multiplier. The inputs go with the amounts, so the event can be checked by
    hand; the amounts are written to 28 digits, and the state adds the exact values the
    inputs define (``Loan.InterestAccrued.normal_exact``)."""
    t = loan.terms
    rate = rules.day_rate(
        on,
        daily_rate=t.daily_rate,
        annual_rate=t.annual_rate,
        day_count=t.day_count,
        arithmetic=t.arithmetic,
    )
    if t.method is Method.FLAT:
        base = t.principal
    else:
        base = loan.principal_not_due + sum(
            (i.principal_due for i in loan.installments if i.overdue_from is None), ZERO
        )
    penalties: list[dict[str, Any]] = []
    penalty_total: Exact | Decimal = ZERO
    for inst in loan.installments:
        if inst.overdue_from is not None and inst.overdue_from <= on:
            owed = inst.owed(t)
            overdue_base = owed.principal + owed.interest
            if overdue_base > ZERO:
                amount = rules.penalty_interest(overdue_base, rate, t.penalty_multiplier)
                penalties.append({"k": inst.k, "base": overdue_base, "amount": readable(amount)})
                penalty_total = accumulate(penalty_total, amount)
    return {
        "on": on,
        "base": base,
        "rate": rate.rate,
        "divisor": rate.divisor,
        "days": rate.days,
        "normal": readable(rules.normal_interest(base, rate)),
        "penalty_multiplier": t.penalty_multiplier,
        "penalties": penalties,
        "penalty": readable(penalty_total),
        "into": "last_installment" if len(loan.installments) == loan.last_k else "period",
    }


def newly_overdue(loan: LoanState, on: date) -> list[dict[str, Any]]:
    """Section 6: installments unpaid at the end of their due date + grace days, not yet
    marked: each becomes overdue from the next day, with what it still owes."""
    found: list[dict[str, Any]] = []
    for inst in loan.installments:
        owed = inst.owed(loan.terms)
        if (
            inst.overdue_from is None
            and inst.settled_on is None
            and inst.due_date + timedelta(days=loan.terms.grace_days) <= on
            and owed.total > ZERO
        ):
            found.append(
                {
                    "on": on,
                    "k": inst.k,
                    "overdue_from": on + timedelta(days=1),
                    "principal": owed.principal,
                    "interest": owed.interest,
                }
            )
    return found
