"""The application service: the ledger's use cases (open, repay, prepay, linked accounts,
corrections, remedies: waivers and refunds, close-of-business) on one store.

``LedgerApp`` is an eventsourcing ``Application`` (:class:`~ledger.services.store.LedgerStore`); its
use cases come from :class:`~ledger.services.corrections.Corrections`,
:class:`~ledger.services.remedies.Remedies`,
:class:`~ledger.services.close_of_business.CloseOfBusiness` and the commands below.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

from eventsourcing.application import AggregateNotFoundError

from ledger.adapters.persistence import APP_NAME
from ledger.domain.account import LinkedAccount, account_id_for
from ledger.domain.business_day import advance_to
from ledger.domain.errors import CommandRefused, Conflict
from ledger.domain.loan import Loan
from ledger.domain.prepayment import PrepaymentQuote
from ledger.domain.rules import Allocation
from ledger.domain.terms import Replan, Terms
from ledger.services.close_of_business import (
    CloseOfBusiness,
    CloseReport,
    DayReport,
    ProgressCallback,
)
from ledger.services.corrections import Correction
from ledger.services.gateway import GatewayResults
from ledger.services.parsing import identifier
from ledger.services.remedies import Remedies
from ledger.services.restructuring import Restructurings
from ledger.services.store import DEFAULT_BATCH_SIZE, LedgerStore, loan_id_for

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CloseReport",
    "Correction",
    "DayReport",
    "LedgerApp",
    "LedgerStore",
    "ProgressCallback",
    "loan_id_for",
]


class LedgerApp(GatewayResults, Remedies, Restructurings, CloseOfBusiness):
    """The ledger: every use case on one store."""

    # the library names an application's tables after its class unless told: the ledger's
    # tables stay ledger_events and ledger_snapshots whatever class runs them
    name = APP_NAME

    # ------------------------------------------------------------------ commands

    def open_loan(self, terms: Terms, reference: str | None = None) -> Loan:
        if reference is not None:
            identifier(reference, "loan id")
        self.business_date.check(terms.disbursed_on, "disbursed_on")
        loan_id = loan_id_for(reference) if reference else uuid4()
        try:
            self.repository.get(loan_id)
        except AggregateNotFoundError:
            pass
        else:
            raise Conflict(f"loan {reference or loan_id} already exists")
        last_closed = self.get_calendar().last_closed
        if last_closed is not None and terms.disbursed_on <= last_closed:
            raise CommandRefused(
                f"disbursed_on {terms.disbursed_on} is not after the last closed business day "
                f"{last_closed}"
            )
        loan = Loan.disburse(terms, loan_id=loan_id, reference=reference)
        self.save(loan)
        return loan

    def set_balance(self, reference: str, balance: Decimal | None) -> LinkedAccount:
        loan = self.get_loan(reference)
        try:
            account: LinkedAccount = self.repository.get(account_id_for(loan.id))
            assert isinstance(account, LinkedAccount)
            account.set_balance(balance)
        except AggregateNotFoundError:
            account = LinkedAccount.open(loan.id, balance)
        self.save(account)
        return account

    def repay(self, reference: str, amount: Decimal, on: date) -> tuple[Loan, list[Allocation]]:
        loan = self.get_loan(reference)
        self._check_on(loan, on)
        bank = self._bank_for([loan.id])
        advance_to(loan, on, bank, self.non_accrual_after)
        allocations = loan.repay(on, amount)
        self.save(loan, *bank.changed())
        return loan, allocations

    def prepay(
        self,
        reference: str,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
        quote_only: bool = False,
    ) -> tuple[Loan, PrepaymentQuote]:
        loan = self.get_loan(reference)
        self._check_on(loan, on)
        bank = self._bank_for([loan.id])
        advance_to(loan, on, bank, self.non_accrual_after)
        if quote_only:
            return loan, loan.quote_prepayment(on, amount=amount, replan=replan)
        quote = loan.prepay(on, amount=amount, replan=replan)
        self.save(loan, *bank.changed())
        return loan, quote
