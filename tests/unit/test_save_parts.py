"""How a batch save is cut into parts (:mod:`ledger.services.save_parts`): never more events
than the limit in a part, never one loan's events in two parts, a loan's linked account in
its loan's part, the order kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ledger.domain.account import LinkedAccount
from ledger.services.save_parts import save_parts


class Pending:
    """Stands for a loan: an id and some pending events."""

    def __init__(self, events: int) -> None:
        self.id: UUID = uuid4()
        self.pending: list[Any] = [object() for _ in range(events)]

    def collect_events(self) -> list[Any]:
        collected, self.pending = self.pending, []
        return collected


def shape(aggregates: list[Any], limit: int) -> list[list[Any]]:
    return [list[Any](p.aggregates.values()) for p in save_parts(aggregates, limit)]


def test_parts_hold_whole_loans_and_never_more_events_than_the_limit() -> None:
    a, b, c, d = Pending(3), Pending(3), Pending(4), Pending(1)
    parts = save_parts([a, b, c, d], 6)
    assert [list[Any](p.aggregates.values()) for p in parts] == [[a, b], [c, d]]
    assert [len(p.events) for p in parts] == [6, 5]


def test_a_loan_with_more_events_than_the_limit_is_a_part_of_its_own() -> None:
    a, big, c = Pending(1), Pending(9), Pending(1)
    assert shape([a, big, c], 5) == [[a], [big], [c]]


def test_a_linked_account_goes_in_its_loans_part() -> None:
    a, b = Pending(4), Pending(4)
    account_b = LinkedAccount.open(b.id, Decimal(1))
    account_b.set_balance(Decimal(2))  # two events
    parts = shape([a, b, account_b], 6)
    assert parts == [[a], [b, account_b]]


def test_nothing_pending_is_no_part() -> None:
    assert save_parts([Pending(0), Pending(0)], 5) == []
