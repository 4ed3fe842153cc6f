"""The business-day cursor: which business dates close-of-business has completed.

One ``BusinessCalendar`` per partition of loans. A day is recorded closed only after every
open loan of the partition has run it, so a pass stopped half-way resumes at that day (each
loan skips what it already ran), and a rerun of a closed day is a no-op.
"""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.errors import CommandRefused

CALENDAR_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:business-calendar")


def calendar_id_for(partition: int = 0, partitions: int = 1) -> UUID:
    return uuid5(CALENDAR_NAMESPACE, f"{partition}/{partitions}")


class BusinessCalendar(Aggregate):
    class Started(Aggregate.Created):
        partition: int
        partitions: int

    class DayClosed(Aggregate.Event):
        """Every open loan of the partition ran business day ``on``."""

        on: date
        loans: int
        events: int

        def apply(self, calendar: BusinessCalendar) -> None:
            calendar.last_closed = self.on

    partition: int
    partitions: int
    last_closed: date | None

    def __init__(self, partition: int, partitions: int) -> None:
        self.partition = partition
        self.partitions = partitions
        self.last_closed = None

    @classmethod
    def start(cls, partition: int = 0, partitions: int = 1) -> BusinessCalendar:
        return cls._create(
            cls.Started,
            id=calendar_id_for(partition, partitions),
            partition=partition,
            partitions=partitions,
        )

    def close_day(self, on: date, *, loans: int, events: int) -> None:
        if self.last_closed is not None and on <= self.last_closed:
            raise CommandRefused(f"business day {on} is already closed")
        self.trigger_event(self.DayClosed, on=on, loans=loans, events=events)
