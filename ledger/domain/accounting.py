"""The double-entry journal of a loan, derived from its state (docs/accounting.md).

Each loan event moves a loan's state (:func:`ledger.domain.evolve.evolve`). Its postings are
the change it made to the loan's **positions**, the figures the state derives (one home:
:class:`~ledger.domain.state.LoanState` and its installments):

- receivables (assets), each in fen as the loan's figures round them: principal not yet due,
  principal due, interest accrued since the last due date (``round(accrued)``, section 7),
  interest due, penalty owed, compound interest owed (section 11), handling fees owed (13);
- the credit held for the borrower (a liability, section 12);
- what was paid, waived and given back as credit of each charge (totals).

For each charge ``c`` (interest, penalty, compound interest, prepayment fee, handling fee) the
income recognised by an event is ``change of receivable_c + paid_c + waived_c`` (accrual
basis: a charge is income when it becomes receivable, and a waiver takes it back through a
contra-income account, with what paid charges gave back as credit). Cash through the gateway's
clearing account is ``everything paid + change of credit - credit from waivers`` (a payment,
a refund; money a correction found was not needed is held as credit). The entry balances to
the fen exactly when the principal is conserved (``change of principal receivable + principal
repaid = 0``), which every event but ``Disbursed`` (cash out = principal) must satisfy:
:func:`postings` refuses an entry that does not balance.

Every figure is rounded once, cumulatively (the exact daily accruals are summed and the sum
rounded as the loan's figures round it), so a posting is the change of a rounded figure: the
postings of a figure add up to it, and no rounding difference is lost. What a rounding changes
when interest is fixed into an installment (section 5) is income of that event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from ledger.domain.loan import Loan
from ledger.domain.money import ZERO
from ledger.domain.state import LoanState

RECEIVABLES = (
    "principal_not_due",
    "principal_due",
    "interest_accrued",
    "interest_due",
    "penalty",
    "compound",
    "handling_fee",
)
CURRENCY = "CNY"  # amounts are yuan to the fen

CHARGE_NAMES = {
    "interest": "Interest",
    "penalty": "Penalty",
    "compound": "CompoundInterest",
    "prepayment_fee": "PrepaymentFee",
    "handling_fee": "HandlingFee",
}
CHARGES = tuple(CHARGE_NAMES)
# account key -> (default name, the root it must have): the chart of accounts
CHART: dict[str, tuple[str, str]] = {
    "cash": ("Assets:Gateway:Clearing", "Assets"),
    "principal_not_due": ("Assets:Loans:Principal:NotDue", "Assets"),
    "principal_due": ("Assets:Loans:Principal:Due", "Assets"),
    "interest_accrued": ("Assets:Loans:Interest:Accrued", "Assets"),
    "interest_due": ("Assets:Loans:Interest:Due", "Assets"),
    "penalty": ("Assets:Loans:Penalty", "Assets"),
    "compound": ("Assets:Loans:CompoundInterest", "Assets"),
    "handling_fee": ("Assets:Loans:HandlingFee", "Assets"),
    "credit": ("Liabilities:Borrowers:Credit", "Liabilities"),
    **{f"income_{c}": (f"Income:Loans:{name}", "Income") for c, name in CHARGE_NAMES.items()},
    **{
        f"waived_{c}": (f"Expenses:Loans:Waived:{name}", "Expenses")
        for c, name in CHARGE_NAMES.items()
    },
    "written_off": ("Expenses:Loans:WriteOff", "Expenses"),  # section 14
    "recoveries": ("Income:Loans:Recoveries", "Income"),
    "suspense": ("Liabilities:Loans:InterestSuspense", "Liabilities"),  # section 15
}
SUSPENDED = ("interest", "penalty", "compound")  # section 15: charges a non-accrual suspends


@dataclass(frozen=True)
class Positions:
    """A loan's positions in fen (see the module's docstring), from its state."""

    principal_not_due: Decimal = ZERO
    principal_due: Decimal = ZERO
    interest_accrued: Decimal = ZERO
    interest_due: Decimal = ZERO
    penalty: Decimal = ZERO
    compound: Decimal = ZERO
    handling_fee: Decimal = ZERO
    credit: Decimal = ZERO
    principal_repaid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    compound_paid: Decimal = ZERO
    prepayment_fee_paid: Decimal = ZERO
    handling_fee_paid: Decimal = ZERO
    interest_waived: Decimal = ZERO
    penalty_waived: Decimal = ZERO
    compound_waived: Decimal = ZERO
    prepayment_fee_waived: Decimal = ZERO  # never: a prepayment fee is paid with the payoff
    handling_fee_waived: Decimal = ZERO  # never: a handling fee cannot be waived yet
    interest_credited: Decimal = ZERO
    penalty_credited: Decimal = ZERO
    compound_credited: Decimal = ZERO  # never: paid compound interest is not given back
    prepayment_fee_credited: Decimal = ZERO
    handling_fee_credited: Decimal = ZERO
    # section 14: what a write-off took off the book, by part, and what was recovered since
    principal_written_off: Decimal = ZERO
    interest_written_off: Decimal = ZERO
    penalty_written_off: Decimal = ZERO
    compound_written_off: Decimal = ZERO
    prepayment_fee_written_off: Decimal = ZERO  # never: a prepayment fee is paid at once
    handling_fee_written_off: Decimal = ZERO
    recovered: Decimal = ZERO
    # section 15: charges receivable that are not income (accrued in non-accrual, not paid)
    interest_suspended: Decimal = ZERO
    penalty_suspended: Decimal = ZERO
    compound_suspended: Decimal = ZERO

    def receivable(self, charge: str) -> Decimal:
        if charge == "interest":
            return self.interest_accrued + self.interest_due
        if charge == "prepayment_fee":
            return ZERO  # charged and paid in one event (section 7)
        value: Decimal = getattr(self, charge)
        return value

    @property
    def paid(self) -> Decimal:
        """Everything paid, principal and every charge."""
        return self.principal_repaid + sum((getattr(self, f"{c}_paid") for c in CHARGES), ZERO)

    @property
    def credited(self) -> Decimal:
        """Everything waivers gave back as credit."""
        return sum((getattr(self, f"{c}_credited") for c in CHARGES), ZERO)


def positions_of(loan: LoanState) -> Positions:
    """The loan's positions, each as its figures derive it (section 6: owed per installment,
    :meth:`LoanState.owed`, read once and summed by part, as the state's ``penalty_owed``,
    ``compound_owed`` and ``handling_fees_owed`` sum it; section 7: the accrued interest
    rounded as a payoff rounds it)."""
    principal = interest = penalty = compound = fee = ZERO
    for o in loan.owed():
        principal += o.principal
        interest += o.interest
        penalty += o.penalty
        compound += o.compound or ZERO
        fee += o.fee or ZERO
    compound_paid = compound_waived = ZERO
    fee_paid = loan.handling_fees_charged
    for i in loan.installments:
        compound_paid += i.compound_paid
        compound_waived += i.compound_waived
        fee_paid += i.fee_paid
    return Positions(
        principal_not_due=loan.principal_not_due,
        principal_due=principal,
        interest_accrued=loan.interest_accrued_rounded,
        interest_due=interest,
        penalty=penalty,
        compound=compound,
        handling_fee=fee,
        credit=loan.credit,
        principal_repaid=loan.principal_repaid,
        interest_paid=loan.interest_paid,
        penalty_paid=loan.penalty_paid,
        compound_paid=compound_paid,
        prepayment_fee_paid=loan.fees_paid,
        handling_fee_paid=fee_paid,
        interest_waived=loan.interest_waived,
        penalty_waived=loan.penalty_waived,
        compound_waived=compound_waived,
        interest_credited=loan.interest_credited,
        penalty_credited=loan.penalty_credited,
        prepayment_fee_credited=loan.fees_credited,
        principal_written_off=loan.principal_written_off,
        interest_written_off=loan.interest_written_off,
        penalty_written_off=loan.penalty_written_off,
        compound_written_off=loan.compound_written_off,
        handling_fee_written_off=loan.fees_written_off,
        recovered=loan.recovered,
        interest_suspended=loan.interest_suspended,
        penalty_suspended=loan.penalty_suspended,
        compound_suspended=loan.compound_suspended,
    )


NOTHING = Positions()
POSITION_NAMES = tuple(f.name for f in fields(Positions))


@dataclass(frozen=True)
class Posting:
    """One line of an entry: ``amount`` in yuan, positive a debit, negative a credit."""

    account: str  # a key of CHART
    amount: Decimal


class Unbalanced(ValueError):
    """An event's postings do not balance: the loan's principal was not conserved."""


def postings(
    before: Positions | None, after: Positions, disbursed: Decimal = ZERO
) -> list[Posting]:
    """The postings of one event that moved a loan from ``before`` (``None``: it did not
    exist) to ``after``; ``disbursed``: the principal paid out by a ``Disbursed`` event.
    Receivables and credit move by their change; income per charge ``c`` is ``change of
    receivable_c + paid_c + waived_c + written_off_c - change of suspended_c`` (section 15:
    what is suspended is credited to the suspense account instead); waived and credited
    charges go to contra accounts, what a write-off took off the book to the write-off
    expense (section 14), a recovery to its income; cash ``= paid + change of credit -
    credited - disbursed + recovered``. Zero lines are left out."""
    was = before or NOTHING
    change = {name: getattr(after, name) - getattr(was, name) for name in POSITION_NAMES}
    lines = [Posting(r, change[r]) for r in RECEIVABLES]
    lines.append(Posting("credit", -change["credit"]))
    written_off = change["principal_written_off"]
    suspended = sum((change[f"{c}_suspended"] for c in SUSPENDED), ZERO)
    lines.append(Posting("suspense", -suspended))  # section 15
    for c in CHARGES:
        recognised = after.receivable(c) - was.receivable(c) + change[f"{c}_paid"]
        recognised += change[f"{c}_written_off"] - change.get(f"{c}_suspended", ZERO)
        written_off += change[f"{c}_written_off"]
        lines.append(Posting(f"income_{c}", -(recognised + change[f"{c}_waived"])))
        lines.append(Posting(f"waived_{c}", change[f"{c}_waived"] + change[f"{c}_credited"]))
    lines.append(Posting("written_off", written_off))
    lines.append(Posting("recoveries", -change["recovered"]))
    cash = after.paid - was.paid + change["credit"] - (after.credited - was.credited) - disbursed
    cash += change["recovered"]
    lines.append(Posting("cash", cash))
    kept = [p for p in lines if p.amount != ZERO]
    total = sum((p.amount for p in kept), ZERO)
    if total != ZERO:
        raise Unbalanced(f"the postings do not balance: debits - credits = {total}")
    return kept


def account_names(chart: dict[str, str] | None = None) -> dict[str, str]:
    """Every account key with its name: the defaults, overridden by ``chart``."""
    names = {key: name for key, (name, _root) in CHART.items()}
    names.update(chart or {})
    return names


def event_rule(event: Any) -> str:
    """The rule behind an event's postings, by the event's class."""
    return RULES.get(type(event), "§3")


RULES: dict[type[Any], str] = {
    Loan.Disbursed: "§1 principal paid out",
    Loan.InterestAccrued: "§4 interest and charges accrued, rounded once cumulatively",
    Loan.InstallmentFellDue: "§5 installment fixed: accrued interest and principal fall due",
    Loan.InstallmentDeducted: "§6 deduction allocated penalty, interest, principal",
    Loan.DeductionFailed: "§6 deduction collected nothing",
    Loan.Repaid: "§6 repayment allocated penalty, interest, principal",
    Loan.Overdue: "§6 installment overdue (no amount moves)",
    Loan.Prepaid: "§7 prepayment: what is due, accrued interest, fee, principal",
    Loan.Closed: "§7 loan closed (no amount moves)",
    Loan.Waived: "§12 charge still owed forgiven",
    Loan.PaidChargeWaived: "§12 paid charge given back as credit",
    Loan.CreditApplied: "§12 credit paid what was due",
    Loan.Refunded: "§12 credit paid back through the gateway",
    Loan.OverpaymentHeld: "§12 money not needed held as credit",
    Loan.Corrected: "§3-6 correction: the history recomputed from its facts",
    Loan.HandlingFeeFellDue: "§13 handling fee due with the installment",
    Loan.RemainingFeesAssessed: "§13 fees of installments not yet due, charged by the payoff",
    Loan.WrittenOff: "§14 everything owed written off",
    Loan.Recovered: "§14 money recovered on a written-off loan",
    Loan.NonAccrualStarted: "§15 non-accrual: charges accrued from now on are suspended",
    Loan.NonAccrualEnded: "§15 cured: suspended charges released to income",
    Loan.Restructured: "§16 restructured: the plan re-made (no amount moves)",
}
