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
    divisor x multiplier (section 11, a loan naming ``compound_multiplier``: penalty on the
    principal, compound interest on the interest, apart: :func:`_overdue_charge`). The
    inputs go with the amounts, so the event can be checked by hand; the amounts are written
    to 28 digits, and the state adds the exact values the inputs define
    (``Loan.InterestAccrued.normal_exact``)."""
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
            entry = _overdue_charge(inst.k, owed.principal, owed.interest, rate, loan)
            if entry is not None:
                amount, record = entry
                penalties.append(record)
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


def _overdue_charge(
    k: int, principal: Decimal, interest: Decimal, rate: rules.DayRate, loan: LoanState
) -> tuple[Exact | Decimal, dict[str, Any]] | None:
    """The day's charge on installment ``k``'s overdue principal and interest, and its record
    in ``InterestAccrued.penalties``: section 4, one penalty on both, ``{k, base, amount}``;
    section 11 (a loan naming ``compound_multiplier``), penalty on the principal and compound
    interest on the interest, apart: ``{k, base, amount, principal_base, penalty,
    interest_base, compound_multiplier, compound}`` with ``amount = penalty + compound``.
    ``None`` when nothing is overdue."""
    t = loan.terms
    base = principal + interest
    if base <= ZERO:
        return None
    if t.compound_multiplier is None:
        amount = rules.penalty_interest(base, rate, t.penalty_multiplier)
        return amount, {"k": k, "base": base, "amount": readable(amount)}
    penalty = rules.penalty_interest(principal, rate, t.penalty_multiplier)
    compound = rules.compound_interest(interest, rate, t.compound_multiplier)
    amount = accumulate(penalty, compound)
    return amount, {
        "k": k,
        "base": base,
        "amount": readable(amount),
        "principal_base": principal,
        "penalty": readable(penalty),
        "interest_base": interest,
        "compound_multiplier": t.compound_multiplier,
        "compound": readable(compound),
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
