"""Remedies of a dispute (loan-rules §6 and §12): waivers, and refunds of the credit a loan
holds for its borrower, paid out through the payment-gateway port; and the write-off of a loan
and the recoveries received after it (section 14).

The loan decides (:mod:`ledger.domain.remedies`); the money of a refund leaves through the
gateway here, and the loan's events and the gateway's (the simulated bank's account) are saved
in one unit of work, so a refused refund, or one the gateway fails, writes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.business_day import advance_to
from ledger.domain.loan import Loan
from ledger.services.store import LedgerStore


class Remedies(LedgerStore):
    """Waivers, refunds, write-offs and recoveries."""

    def _remedy_day(self, loan: Loan, on: date | None) -> date:
        """The business date of a remedy: ``on``, or the loan's next open day (a closed loan:
        its newest business date). An open loan's missing days run first (inline catch-up)."""
        day = on or (loan.as_of if loan.is_closed else loan.next_open_day)
        self._check_on(loan, day)
        return day

    def waive(
        self,
        reference: str,
        *,
        part: str,
        amount: Decimal,
        on: date | None,
        actor: str,
        reason: str,
    ) -> Loan:
        """Forgive ``amount`` of ``part`` (``fee``, ``penalty``, ``interest``): what is owed
        first, then what was paid, as credit (section 12); a closed loan too."""
        loan = self.get_loan(reference)
        day = self._remedy_day(loan, on)
        bank = self._bank_for([loan.id])
        advance_to(loan, day, bank, self.non_accrual_after)
        loan.waive(day, part=part, amount=amount, actor=actor, reason=reason)
        self.save(loan, *bank.changed())
        return loan

    def refund(
        self, reference: str, amount: Decimal, *, on: date | None, actor: str, reason: str
    ) -> Loan:
        """Pay ``amount`` of the loan's credit back to the borrower (section 12): the loan
        records ``Refunded`` (refused above the credit), then the gateway pays it out."""
        loan = self.get_loan(reference)
        day = self._remedy_day(loan, on)
        bank = self._bank_for([loan.id])
        # its morning uses credit first (unless refunded before)
        advance_to(loan, day, bank, self.non_accrual_after)
        loan.refund(day, amount=amount, actor=actor, reason=reason)
        bank.pay(loan.id, day, amount)
        self.save(loan, *bank.changed())
        return loan

    def write_off(self, reference: str, *, on: date | None, actor: str, reason: str) -> Loan:
        """Section 14: write off everything loan ``reference`` owes on ``on`` (default: its
        next open day, whose morning runs first, as for any command of the day)."""
        loan = self.get_loan(reference)
        day = on or loan.next_open_day
        self._check_on(loan, day)
        bank = self._bank_for([loan.id])
        advance_to(loan, day, bank, self.non_accrual_after)
        loan.write_off(day, actor=actor, reason=reason)
        self.save(loan, *bank.changed())
        return loan

    def recover(
        self, reference: str, amount: Decimal, *, on: date | None, actor: str, reason: str
    ) -> Loan:
        """Section 14: ``amount`` received on written-off loan ``reference`` on ``on``
        (default: the business date), not after the business date."""
        loan = self.get_loan(reference)
        day = on or self.business_date.today().day
        self.business_date.check(day, "--on")
        loan.recover(day, amount=amount, actor=actor, reason=reason)
        self.save(loan)
        return loan
