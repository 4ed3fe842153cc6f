"""How each loan event moves a loan's state: one function per event class, chosen by
:func:`evolve` from the event's class. The ``Loan`` aggregate applies its events with it and
the projections fold the same events with it; nothing else moves a loan's state
(:class:`~ledger.domain.state.LoanState`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ledger.domain.installment import Installment
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, accumulate
from ledger.domain.non_accrual import charge_receivables, follow_suspense, release
from ledger.domain.state import CLOSED, LoanState
from ledger.domain.terms import Terms
from ledger.domain.write_off import PARTS as WRITE_OFF_PARTS
from ledger.domain.write_off import WRITTEN_OFF


def _disbursed(state: LoanState, e: Loan.Disbursed) -> None:
    state.start(
        on=e.on,
        reference=e.reference,
        terms=Terms.from_event_fields({**e.terms, "disbursed_on": e.on}),
        monthly_rate=e.monthly_rate,
        emi=e.emi,
        principal_step=e.principal_step,
        chain=e.chain,
    )


def _installment_fell_due(state: LoanState, e: Loan.InstallmentFellDue) -> None:
    """Section 5: installment ``k`` fixed; nothing to pay means settled as it falls due.
    Section 16: on a payment holiday's installment the interest accrued carries on."""
    installment = Installment(e.k, e.due_date, e.principal, e.interest, holiday=bool(e.holiday))
    if e.principal == ZERO and e.interest == ZERO:
        installment.settled_on = e.on
    state.installments.append(installment)
    state.principal_not_due -= e.principal
    if not e.holiday:
        state.interest_accrued = ZERO


def _handling_fee_fell_due(state: LoanState, e: Loan.HandlingFeeFellDue) -> None:
    """Section 13: installment ``k`` owes its handling fee too (not settled while it does)."""
    installment = state.installments[e.k - 1]
    installment.fee = e.fee
    if e.fee:
        installment.settled_on = None


def _remaining_fees_assessed(state: LoanState, e: Loan.RemainingFeesAssessed) -> None:
    """Section 13: the fees of the installments not yet due, charged or waived, are paid by
    the ``Prepaid`` that follows (in its total), in the same unit of work."""
    state.handling_fees_charged += e.charged


def _deducted(state: LoanState, e: Loan.InstallmentDeducted) -> None:
    state.last_deduction_on = e.on
    state.pay(e.allocations, e.on)


def _deduction_failed(state: LoanState, e: Loan.DeductionFailed) -> None:
    state.last_deduction_on = e.on


def _repaid(state: LoanState, e: Loan.Repaid) -> None:
    state.pay(e.allocations, e.on)


def _interest_accrued(state: LoanState, e: Loan.InterestAccrued) -> None:
    """Section 4: normal interest into the period (or after the last due date), penalty into
    each overdue installment (section 11: and compound interest, apart, on a loan that splits
    them), unrounded (exact, or in 28-digit decimals for a loan opened before exact
    accruals); the day is closed."""
    normal = e.normal_accrued(state.terms.arithmetic)
    if e.into == "period":
        state.interest_accrued = accumulate(state.interest_accrued, normal)
    else:
        last = state.installments[-1]
        last.interest_after_due = accumulate(last.interest_after_due, normal)
    for p, (penalty, compound) in zip(e.penalties, e.charges(state.terms.arithmetic), strict=True):
        inst = state.installments[int(p["k"]) - 1]
        inst.penalty_accrued = accumulate(inst.penalty_accrued, penalty)
        if compound is not None:
            inst.compound_accrued = accumulate(inst.compound_accrued, compound)
    state.closed_through = e.on


def _overdue(state: LoanState, e: Loan.Overdue) -> None:
    state.installments[e.k - 1].overdue_from = e.overdue_from


def _prepaid(state: LoanState, e: Loan.Prepaid) -> None:
    """Section 7: what was due is paid, the accrued interest and the principal prepaid; the
    plan left is the one the prepayment computed."""
    state.pay(e.allocations, e.on)
    state.interest_accrued = ZERO
    state.principal_not_due -= e.principal
    state.principal_repaid += e.principal
    state.interest_paid += e.interest
    state.fees_paid += e.fee
    if e.emi is not None:
        state.emi = e.emi
    if e.principal_step is not None:
        state.principal_step = e.principal_step
    if e.last_k is not None:
        state.last_k = e.last_k
    if e.kind == "partial" and state.terms.per_transaction:
        state.piece_from = e.on  # section 10: a new piece starts with the new principal


def _closed(state: LoanState, e: Loan.Closed) -> None:
    state.status = CLOSED
    state.closed_on = e.on


def _waived(state: LoanState, e: Loan.Waived) -> None:
    for a in e.allocations:
        inst = state.installments[int(a["k"]) - 1]
        if e.part == "penalty":
            inst.penalty_waived += a["amount"]
            state.penalty_waived += a["amount"]
        elif e.part == "compound":  # section 11: a loan that charges it apart
            inst.compound_waived += a["amount"]
        else:
            inst.interest_waived += a["amount"]
            state.interest_waived += a["amount"]
        if inst.owed(state.terms).total == ZERO:
            inst.settled_on = e.on


def _deduction_requested(state: LoanState, e: Loan.DeductionRequested) -> None:
    """Section 17: the day's deduction is asked for; its money is in flight until a result."""
    state.last_deduction_on = e.on
    state.deductions_in_flight += e.requested


def _corrected(state: LoanState, e: Loan.Corrected) -> None:
    state.restore(e.state)


CREDITED = {"fee": "fees_credited", "penalty": "penalty_credited", "interest": "interest_credited"}


def _paid_charge_waived(state: LoanState, e: Loan.PaidChargeWaived) -> None:
    """Section 12: a paid charge given back becomes credit (from the next morning)."""
    setattr(state, CREDITED[e.part], getattr(state, CREDITED[e.part]) + e.amount)
    state.add_credit(e.on, e.amount)


def _credit_applied(state: LoanState, e: Loan.CreditApplied) -> None:
    """Section 12: credit paid what was due, as money received (section 6); what was
    received and not used (``refunds_due``) is that much less."""
    state.pay(e.allocations, e.on)
    state.take_credit(e.applied)
    state.refunds_due -= e.applied


def _refunded(state: LoanState, e: Loan.Refunded) -> None:
    state.take_credit(e.amount)
    state.refunded += e.amount


def _overpayment_held(state: LoanState, e: Loan.OverpaymentHeld) -> None:
    state.add_credit(e.on, e.amount)
    state.refunds_due += e.amount  # received, not used


def _written_off(state: LoanState, e: Loan.WrittenOff) -> None:
    """Section 14: everything owed is written off; nothing is owed, nothing accrues after."""
    state.status = WRITTEN_OFF
    state.principal_not_due = ZERO
    state.interest_accrued = ZERO
    state.take_write_off(e.on, {part: getattr(e, part) for part in WRITE_OFF_PARTS})


def _recovered(state: LoanState, e: Loan.Recovered) -> None:
    state.recovered += e.amount


def _non_accrual_started(state: LoanState, e: Loan.NonAccrualStarted) -> None:
    """Section 15: from the next accrual on, the loan's charges are suspended."""
    state.non_accrual_since = e.on


def _non_accrual_ended(state: LoanState, e: Loan.NonAccrualEnded) -> None:
    """Section 15: cured; what was suspended is released (income)."""
    release(state)


def _restructured(state: LoanState, e: Loan.Restructured) -> None:
    """Section 16: the plan of the principal not yet due, and the rate in force from ``on``."""
    if e.rate != e.rate_before and e.rate_name == "annual_rate":
        state.terms = replace(state.terms, annual_rate=e.rate)
    elif e.rate != e.rate_before:
        state.terms = replace(state.terms, daily_rate=e.rate)
    state.monthly_rate = e.monthly_rate
    state.last_k = e.last_k
    state.emi = e.emi
    state.principal_step = e.principal_step
    if e.holiday:  # a payment holiday: installments fixed + 1 .. fixed + K move
        state.holiday_through = e.fixed + e.holiday


EVOLVE: dict[type[Any], Callable[[LoanState, Any], None]] = {
    Loan.Disbursed: _disbursed,
    Loan.InstallmentFellDue: _installment_fell_due,
    Loan.HandlingFeeFellDue: _handling_fee_fell_due,
    Loan.RemainingFeesAssessed: _remaining_fees_assessed,
    Loan.InstallmentDeducted: _deducted,
    Loan.DeductionFailed: _deduction_failed,
    Loan.DeductionRequested: _deduction_requested,
    Loan.Repaid: _repaid,
    Loan.InterestAccrued: _interest_accrued,
    Loan.Overdue: _overdue,
    Loan.Prepaid: _prepaid,
    Loan.Closed: _closed,
    Loan.Waived: _waived,
    Loan.Corrected: _corrected,
    Loan.PaidChargeWaived: _paid_charge_waived,
    Loan.CreditApplied: _credit_applied,
    Loan.Refunded: _refunded,
    Loan.OverpaymentHeld: _overpayment_held,
    Loan.WrittenOff: _written_off,
    Loan.Recovered: _recovered,
    Loan.NonAccrualStarted: _non_accrual_started,
    Loan.NonAccrualEnded: _non_accrual_ended,
    Loan.Restructured: _restructured,
}
LOAN_EVENT_TYPES: tuple[type[Any], ...] = tuple(EVOLVE)


def evolve(state: LoanState, event: Any) -> None:
    """Move ``state`` by one loan event, chosen by the event's class; the chain head follows."""
    try:
        step = EVOLVE[type(event)]
    except KeyError:
        raise TypeError(f"not a loan event: {type(event).__name__}") from None
    suspends = state.non_accrual_since is not None and type(event) is Loan.InterestAccrued
    before = charge_receivables(state) if suspends else None
    step(state, event)
    follow_suspense(state, before)  # section 15
    state.chain_head = event.chain
    state.last_event_on = max(state.last_event_on, event.on)
