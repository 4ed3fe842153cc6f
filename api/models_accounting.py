"""The shapes of the accounting reads (docs/accounting.md)."""

from __future__ import annotations

from pydantic import Field

from api.models import Day, Money, Shape


class Posting(Shape):
    version: int = Field(description="The loan event behind the posting")
    date: Day
    event: str
    account: str
    debit: Money | None
    credit: Money | None
    rule: str = Field(description="The loan-rules section and what it says")


class Postings(Shape):
    loan_id: str
    postings: list[Posting]


class AccountTotal(Shape):
    product: str | None = None
    account: str
    key: str = Field(description="The account's key in the chart of accounts")
    debit: Money
    credit: Money
    balance: Money = Field(description="debit - credit")


class TrialBalance(Shape):
    as_of: Day | None
    by: str | None
    accounts: list[AccountTotal]
    debits: Money
    credits: Money
    balanced: bool


class ControlTotal(Shape):
    control: str
    journal: Money
    balances: Money
    difference: Money


class ControlDifference(Shape):
    loan_id: str
    control: str
    journal: Money
    balances: Money
    difference: Money
    events: list[int] = Field(description="The loan's events that posted to the control")


class TieOut(Shape):
    as_of: Day | None
    loans: int
    controls: list[ControlTotal]
    differences: list[ControlDifference]
    holds: bool = Field(description="Every control equals the balances, loan by loan")
