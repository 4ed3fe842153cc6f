"""The payment-gateway port and its simulated-bank adapter.

Port: ``collect(loan_id, on, amount) -> collected`` (deductions) and ``pay(loan_id, on,
amount)`` (refunds, loan-rules §12: money back to the borrower). The simulated bank keeps each
borrower's balance in a :class:`~ledger.domain.account.LinkedAccount` aggregate in the same
store, so a refund and the credit to the account are saved in one transaction; a loan without
an account has unlimited funds (the default of the CLI contract).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from ledger.domain.account import LinkedAccount, account_id_for


class PaymentGateway(Protocol):
    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        """Try to take ``amount`` from the borrower's linked account; return what was taken."""
        ...

    def pay(self, loan_id: UUID, on: date, amount: Decimal) -> None:
        """Pay ``amount`` to the borrower's linked account, or raise."""
        ...


class SimulatedBank:
    """Collects from the accounts it was given; unlimited funds for any other loan."""

    def __init__(self, accounts: dict[UUID, LinkedAccount] | None = None) -> None:
        self.accounts: dict[UUID, LinkedAccount] = dict(accounts or {})

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        account = self.accounts.get(account_id_for(loan_id))
        if account is None:
            return amount
        return account.collect(on, amount)

    def pay(self, loan_id: UUID, on: date, amount: Decimal) -> None:
        """Credit the linked account; a loan without one (unlimited funds) has no balance to
        move, so nothing is recorded but the loan's ``Refunded``."""
        account = self.accounts.get(account_id_for(loan_id))
        if account is not None:
            account.pay_in(on, amount)

    def changed(self) -> list[LinkedAccount]:
        return [a for a in self.accounts.values() if a.pending_events]
