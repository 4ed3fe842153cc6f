"""The payment-gateway port and its simulated-bank adapter.

Port: ``collect(loan_id, on, amount) -> collected``. The simulated bank keeps each borrower's
balance in a :class:`~ledger.domain.account.LinkedAccount` aggregate in the same store; a loan
without an account has unlimited funds (the default of the CLI contract).
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


class SimulatedBank:
    """Collects from the accounts it was given; unlimited funds for any other loan."""

    def __init__(self, accounts: dict[UUID, LinkedAccount] | None = None) -> None:
        self.accounts: dict[UUID, LinkedAccount] = dict(accounts or {})

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        account = self.accounts.get(account_id_for(loan_id))
        if account is None:
            return amount
        return account.collect(on, amount)

    def changed(self) -> list[LinkedAccount]:
        return [a for a in self.accounts.values() if a.pending_events]
