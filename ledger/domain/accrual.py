"""The end of a business day for one loan (loan-rules sections 4 and 6), computed from its
state alone: the day's accrual and the installments that become overdue. The ``Loan``
aggregate records them as ``InterestAccrued`` and ``Overdue``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain import per_transaction, rules
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
    (``Loan.InterestAccrued.normal_exact``). Section 10, a ``per_transaction`` loan: the
    normal rate is section 10's day rate (penalty entries keep section 4's, and carry it
    when it differs), and the day that completes a whole month of the piece adds its
    ``month`` entry (:mod:`ledger.domain.per_transaction`)."""
    t = loan.terms
    rate = rules.day_rate(
        on,
        daily_rate=t.daily_rate,
        annual_rate=t.annual_rate,
        day_count=t.day_count,
        arithmetic=t.arithmetic,
    )
    normal_rate = per_transaction.transaction_day_rate(t) if t.per_transaction else rate
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
                if rate != normal_rate:  # section 10: the event's rate is the normal one
                    record.update(rate=rate.rate, divisor=rate.divisor, days=rate.days)
                penalties.append(record)
                penalty_total = accumulate(penalty_total, amount)
    normal = rules.normal_interest(base, normal_rate)
    fields: dict[str, Any] = {
        "on": on,
        "base": base,
        "rate": normal_rate.rate,
        "divisor": normal_rate.divisor,
        "days": normal_rate.days,
        "normal": readable(normal),
        "penalty_multiplier": t.penalty_multiplier,
        "penalties": penalties,
        "penalty": readable(penalty_total),
        "into": "last_installment" if len(loan.installments) == loan.last_k else "period",
    }
    if t.per_transaction:
        origin, offset = loan.piece_origin
        month = per_transaction.month_entry(
            origin=origin,
            offset=offset,
            on=on,
            base=loan.principal_not_due,
            day_rate=normal_rate,
            monthly=per_transaction.month_rate(t),
        )
        if month is not None:  # section 10: the day completes a whole month of the piece
            fields["month"] = month
            fields["normal"] = readable(accumulate(normal, per_transaction.month_adjustment(month)))
    return fields


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
    grace = timedelta(days=loan.terms.grace_days)
    for inst in loan.installments:
        # the cheap checks first: most days no installment is at its due date + grace, and
        # what one owes (section 6) is computed only for those that are
        if inst.overdue_from is not None or inst.settled_on is not None:
            continue
        if inst.due_date + grace > on:
            continue
        owed = inst.owed(loan.terms)
        if owed.total > ZERO:
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
