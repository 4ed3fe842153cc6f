"""Prepayments (loan-rules section 7): what a prepayment on a given day pays, computed from
the loan's state alone (the ``Loan`` aggregate records it as ``Prepaid``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from ledger.domain import rules
from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, Exact, fmt
from ledger.domain.state import LoanState
from ledger.domain.terms import Method, RemainingFees, Replan


@dataclass(frozen=True)
class RemainingFeesQuote:
    """Section 13: the handling fees of the installments not yet due at a full prepayment of a
    ``bank_installment`` loan: ``fee`` each, ``charged`` = fee x their number under ``charge``,
    0 under ``waive``."""

    rule: str
    installments: tuple[int, ...]
    fee: Decimal
    charged: Decimal


@dataclass(frozen=True)
class PrepaymentQuote:
    """What a prepayment on ``on`` pays (loan-rules section 7)."""

    on: date
    kind: str  # "full" or "partial"
    allocations: tuple[rules.Allocation, ...]
    overdue: Decimal  # principal + interest of installments due and unpaid
    penalty: Decimal  # penalty owed, with compound interest on a loan splitting it (section 11)
    interest: Decimal  # round(normal interest accrued since the last due date)
    interest_accrued: Decimal | Exact  # the same, unrounded
    fee_rate: Decimal
    fee: Decimal
    principal: Decimal
    remaining_principal: Decimal  # principal not yet fallen due, after the prepayment
    replan: str | None = None
    emi: Decimal | None = None
    principal_step: Decimal | None = None
    last_k: int | None = None
    # section 13, a bank_installment loan: handling fees of installments due and unpaid (in the
    # allocations), and the fees of those not yet due (a full prepayment); None on other loans
    fees_due: Decimal | None = None
    remaining_fees: RemainingFeesQuote | None = None

    @property
    def total(self) -> Decimal:
        fees = (self.fees_due or ZERO) + (
            self.remaining_fees.charged if self.remaining_fees else ZERO
        )
        return self.overdue + self.penalty + self.interest + self.fee + self.principal + fees


def quote_prepayment(
    loan: LoanState,
    on: date,
    *,
    amount: Decimal | None = None,
    replan: Replan = Replan.REDUCE_INSTALLMENT,
) -> PrepaymentQuote:
    """Section 7: what a full (``amount=None``) or partial prepayment on ``on`` pays: what
    is due (penalty, interest, principal), the interest accrued since the last due date
    (rounded once), the fee on the principal prepaid, and for a partial one the new plan
    (a smaller EMI or principal step, or fewer installments). Section 13: a ``bank_installment``
    loan is prepaid in full only, and pays the handling fees due and unpaid (``fees_due``) and
    those of the installments not yet due as ``remaining_fees`` says."""
    t = loan.terms
    owed = loan.owed()
    penalty = loan.charges_owed  # penalty, and compound interest on a loan splitting it (s. 11)
    fees_due = sum((o.fee or ZERO for o in owed), ZERO) if t.charges_handling_fee else None
    overdue = loan.amount_due - penalty - (fees_due or ZERO)  # interest and principal due
    interest = loan.interest_accrued_rounded
    quote = partial(  # what is due now, the same in a full and a partial prepayment
        PrepaymentQuote,
        on=on,
        allocations=tuple(rules.allocate(loan.amount_due, owed)[0]),
        overdue=overdue,
        penalty=penalty,
        interest=interest,
        interest_accrued=loan.interest_accrued,
        fee_rate=t.prepayment_fee_rate,
        fees_due=fees_due,
    )
    if amount is None:
        fee = rules.prepayment_fee(loan.principal_not_due, t.prepayment_fee_rate, t.rounding)
        return quote(
            kind="full",
            fee=fee,
            principal=loan.principal_not_due,
            remaining_principal=ZERO,
            remaining_fees=remaining_fees(loan),
        )
    if t.charges_handling_fee:
        raise CommandRefused(
            f"loan {loan.label}: a bank_installment loan is prepaid in full only "
            "(loan-rules section 13); leave out the amount"
        )
    if amount <= ZERO:
        raise CommandRefused(f"prepayment amount must be positive, got {fmt(amount)}")
    before_principal = overdue + penalty + interest
    left = amount - before_principal
    if left <= ZERO:
        raise CommandRefused(
            f"loan {loan.label}: {fmt(amount)} does not exceed the {fmt(before_principal)} "
            f"due and accrued on {on}, so it would prepay no principal; use repay"
        )
    principal, fee = rules.split_partial_prepayment(left, t.prepayment_fee_rate, t.rounding)
    if principal >= loan.principal_not_due:
        payoff = quote_prepayment(loan, on).total
        raise CommandRefused(
            f"loan {loan.label}: {fmt(amount)} would repay all the remaining principal; "
            f"use a full prepayment (payoff {fmt(payoff)})"
        )
    if principal <= ZERO:
        raise CommandRefused(f"loan {loan.label}: {fmt(amount)} would prepay no principal")
    remaining = loan.principal_not_due - principal
    emi, step, last_k = new_plan(loan, remaining, replan)
    return quote(
        kind="partial",
        fee=fee,
        principal=principal,
        remaining_principal=remaining,
        replan=replan.value,
        emi=emi,
        principal_step=step,
        last_k=last_k,
    )


def new_plan(
    loan: LoanState, remaining: Decimal, replan: Replan
) -> tuple[Decimal | None, Decimal | None, int | None]:
    """Section 7, the plan after a partial prepayment leaves ``remaining`` principal not yet
    due: ``reduce_installment`` keeps the installments left and lowers the EMI (or the
    principal step); ``reduce_term`` keeps the EMI (or step) and ends sooner. Returns (EMI,
    principal step, last installment), each ``None`` where unchanged. During a payment
    holiday (section 16) the installments left are those after it."""
    t = loan.terms
    after = max(len(loan.installments), loan.holiday_through)
    periods_left = loan.last_k - after
    if replan is Replan.REDUCE_INSTALLMENT:
        if t.method is Method.EQUAL_INSTALLMENT:
            emi = rules.emi(
                remaining, loan.monthly_rate, periods_left, t.installment_multiple, t.rounding
            )
            return emi, None, None
        if t.method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
            return None, rules.principal_per_installment(remaining, periods_left, t.rounding), None
        return None, None, None
    if t.method is Method.INTEREST_FIRST:
        raise CommandRefused(
            "reduce_term does not apply to interest_first: its principal is all due "
            "with the last installment; use reduce_installment"
        )
    needed = rules.periods_to_repay(
        remaining,
        method=t.method,
        rate=loan.monthly_rate,
        emi_amount=loan.emi,
        principal_step=loan.principal_step,
    )
    return None, None, after + min(needed, periods_left)


def remaining_fees(loan: LoanState) -> RemainingFeesQuote | None:
    """Section 13: at a full prepayment, the installments not yet due (after those fixed) and
    their handling fee ``round(P x f)`` each: all charged under ``charge``, none under
    ``waive``; ``None`` on a loan without handling fees."""
    t = loan.terms
    if t.fee_rate_per_period is None:
        return None
    fee = rules.handling_fee(t.principal, t.fee_rate_per_period, t.rounding)
    installments = tuple(range(len(loan.installments) + 1, loan.last_k + 1))
    rule = t.remaining_fees or RemainingFees.CHARGE
    charged = fee * (len(installments) if rule is RemainingFees.CHARGE else 0)  # 0.00: waived
    return RemainingFeesQuote(rule.value, installments, fee, charged)
