"""Credit owed to the borrower (loan-rules §12): the part of a loan's state that holds it, and
the rules that move it.

Credit arises from a waiver of a charge already paid (a prepayment fee, penalty, interest),
and from money a corrected history does not need (a correction's ``refund_due``: money that
arrived when nothing, or less, was owed). It is used on the next morning, oldest amount due
first, before that morning's deduction (section 3), unless refunded before; a refund pays it
back through the payment gateway and is at most the credit. A closed loan keeps its credit
and stays closed; it can only be refunded. No rounding happens here: every amount that moves
credit is already whole fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.domain.errors import CommandRefused
from ledger.domain.money import FEN, ZERO, fmt, round_to

PARTS = ("fee", "penalty", "interest")  # what a waiver may cover (fee: the prepayment fee)


@dataclass(frozen=True)
class WaiverSplit:
    """loan-rules §12: the part of a waiver that forgives what is still owed (section 6), and
    the part that gives back what was already paid, which becomes credit."""

    owed: Decimal
    paid: Decimal


def split_waiver(part: str, amount: Decimal, owed: Decimal, paid: Decimal) -> WaiverSplit:
    """loan-rules §12: a waiver of ``amount`` of ``part`` forgives what is still owed of it
    first, then gives back what was paid of it and not yet given back (``paid``), as credit.
    More than ``owed + paid`` is refused."""
    if amount > owed + paid:
        raise CommandRefused(
            f"cannot waive {fmt(amount)} of {part}: {fmt(owed)} is owed and {fmt(paid)} was "
            "paid and not yet given back"
            + (
                " (interest accrued since the last due date is not owed yet)"
                if part == "interest"
                else ""
            )
        )
    from_owed = min(amount, owed)
    return WaiverSplit(owed=from_owed, paid=amount - from_owed)


def eligible_credit(credit: Decimal, new: Decimal, new_on: date | None, day: date) -> Decimal:
    """loan-rules §12: the credit the morning of ``day`` may use: all of it but what arose on
    ``day`` itself (credit is applied on the *next* morning)."""
    return credit - (new if new_on == day else ZERO)


def credit_to_apply(eligible: Decimal, amount_due: Decimal) -> Decimal:
    """loan-rules §12: the morning uses ``min(eligible credit, amount due)``; it is allocated
    like any money received (section 6: oldest installment first; penalty, interest,
    principal)."""
    return max(min(eligible, amount_due), ZERO)


def check_refund(amount: Decimal, credit: Decimal) -> None:
    """loan-rules §12: a refund is a positive amount of whole fen, at most the credit."""
    if amount <= ZERO:
        raise CommandRefused(f"refund amount must be positive, got {fmt(amount)}")
    check_fen(amount, "refund")
    if amount > credit:
        raise CommandRefused(
            f"cannot refund {fmt(amount)}: the credit owed to the borrower is {fmt(credit)}"
        )


def check_fen(amount: Decimal, what: str) -> None:
    """An amount that moves credit is whole fen (``round_to`` leaves it unchanged)."""
    if round_to(amount, FEN) != amount:
        raise CommandRefused(f"{what} amount {amount} has more than two decimal places (fen)")


class CreditState:
    """The credit a loan holds for its borrower (loan-rules §12), part of
    :class:`~ledger.domain.state.LoanState`. ``credit_new`` is the part of ``credit`` that
    arose on ``credit_new_on`` (not usable before the next morning); the ``*_credited`` totals
    are what waivers gave back of paid charges, ``refunded`` what refunds paid out."""

    CREDIT_DERIVED = (
        "credit",
        "credit_new",
        "credit_new_on",
        "refunded",
        "penalty_credited",
        "interest_credited",
        "fees_credited",
    )

    credit: Decimal
    credit_new: Decimal
    credit_new_on: date | None
    refunded: Decimal
    penalty_credited: Decimal
    interest_credited: Decimal
    fees_credited: Decimal

    def start_credit(self) -> None:
        """No credit: a loan just disbursed (or restored from before credit existed)."""
        for name, value in credit_defaults().items():
            setattr(self, name, value)

    def add_credit(self, on: date, amount: Decimal) -> None:
        """Credit arose on ``on``: usable from the next morning."""
        self.credit += amount
        if self.credit_new_on == on:
            self.credit_new += amount
        else:
            self.credit_new_on, self.credit_new = on, amount

    def take_credit(self, amount: Decimal) -> None:
        """Credit used or refunded (the older credit first)."""
        self.credit -= amount
        self.credit_new = min(self.credit_new, self.credit)

    def eligible_credit(self, day: date) -> Decimal:
        return eligible_credit(self.credit, self.credit_new, self.credit_new_on, day)


def credit_defaults() -> dict[str, Decimal | date | None]:
    """The credit fields of a loan without credit (also what a correction recorded before
    credit existed, or a snapshot taken before, reads)."""
    return {
        "credit": ZERO,
        "credit_new": ZERO,
        "credit_new_on": None,
        "refunded": ZERO,
        "penalty_credited": ZERO,
        "interest_credited": ZERO,
        "fees_credited": ZERO,
    }
