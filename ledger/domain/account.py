"""The borrower's linked account in the simulated bank (issue: linked account).

A real deployment collects through a payment gateway; tests and the demo use this aggregate,
whose balance lives in the same store as the loans, so that a deduction and the debit it
causes are saved in one transaction. ``balance=None`` means unlimited funds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, fmt

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:linked-account")


def account_id_for(loan_id: UUID) -> UUID:
    return uuid5(ACCOUNT_NAMESPACE, str(loan_id))


class LinkedAccount(Aggregate):
    """A borrower's account that morning deductions collect from and refunds pay into."""

    class Opened(Aggregate.Created):
        loan_id: UUID
        balance: Decimal | None

    class BalanceSet(Aggregate.Event):
        balance: Decimal | None

        def apply(self, account: LinkedAccount) -> None:
            account.balance = self.balance

    class Debited(Aggregate.Event):
        on: date
        amount: Decimal
        balance_after: Decimal | None

        def apply(self, account: LinkedAccount) -> None:
            account.balance = self.balance_after

    class Credited(Aggregate.Event):
        """Money paid to the borrower (a refund, loan-rules §12)."""

        on: date
        amount: Decimal
        balance_after: Decimal | None

        def apply(self, account: LinkedAccount) -> None:
            account.balance = self.balance_after

    loan_id: UUID
    balance: Decimal | None

    def __init__(self, loan_id: UUID, balance: Decimal | None) -> None:
        self.loan_id = loan_id
        self.balance = balance

    @classmethod
    def open(cls, loan_id: UUID, balance: Decimal | None) -> LinkedAccount:
        _check_balance(balance)
        return cls._create(cls.Opened, id=account_id_for(loan_id), loan_id=loan_id, balance=balance)

    def set_balance(self, balance: Decimal | None) -> None:
        _check_balance(balance)
        self.trigger_event(self.BalanceSet, balance=balance)

    def collect(self, on: date, amount: Decimal) -> Decimal:
        """Take up to ``amount``; return what was collected."""
        collected = amount if self.balance is None else min(amount, self.balance)
        if collected > ZERO:
            after = None if self.balance is None else self.balance - collected
            self.trigger_event(self.Debited, on=on, amount=collected, balance_after=after)
        return collected

    def pay_in(self, on: date, amount: Decimal) -> None:
        """Credit ``amount`` to the account (an account with unlimited funds stays so)."""
        if amount <= ZERO:
            raise CommandRefused(f"a payment into the account must be positive, got {fmt(amount)}")
        after = None if self.balance is None else self.balance + amount
        self.trigger_event(self.Credited, on=on, amount=amount, balance_after=after)


def _check_balance(balance: Decimal | None) -> None:
    if balance is not None and balance < ZERO:
        raise CommandRefused(f"balance must not be negative, got {fmt(balance)}")
