"""Loan events as the projections read them: straight from the notification log, decoded
into the domain's own event objects (``Loan.Disbursed``, ``Loan.InterestAccrued``, ...) with
the same transcodings and upcasters as the application, so a projection folds them with the
same :func:`ledger.domain.loan.evolve` as the aggregate and dispatches on their classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from ledger.adapters.persistence import ledger_mapper
from ledger.domain.evolve import LOAN_EVENT_TYPES
from ledger.domain.loan import Loan

KIND_OF_TOPIC = {get_topic(cls): cls.__name__ for cls in LOAN_EVENT_TYPES}
LOAN_TOPICS = sorted(KIND_OF_TOPIC)
DISBURSED_TOPIC = get_topic(Loan.Disbursed)


# the application's transcodings, so the same decoding and upcasting as the aggregate's
MAPPER: Mapper[UUID] = ledger_mapper()


@dataclass(frozen=True, slots=True)
class Fact:
    """One loan event: where it is in the log, which loan, which version, and the event."""

    position: int
    loan_id: UUID
    version: int
    event: Any  # a Loan event object (Loan.Disbursed, Loan.InterestAccrued, ...)

    @property
    def kind(self) -> str:
        """The event class's name, for messages (dispatch on the class itself)."""
        return type(self.event).__name__

    @property
    def on(self) -> date:
        """The business date the event is about."""
        day: date = self.event.on
        return day

    @property
    def recorded_at(self) -> datetime:
        moment: datetime = self.event.timestamp
        return moment


def fact_from_row(row: tuple[Any, ...]) -> Fact | None:
    """A fact from a row ``(position, originator_id, originator_version, topic, state)`` of
    the events table; ``None`` for an event that is not a loan's."""
    position, originator, version, topic, state = row
    if topic not in KIND_OF_TOPIC:
        return None
    loan_id = originator if isinstance(originator, UUID) else UUID(str(originator))
    stored = StoredEvent(
        originator_id=loan_id,
        originator_version=int(version),
        topic=topic,
        state=bytes(state) if isinstance(state, memoryview) else state,
    )
    event = MAPPER.to_domain_event(stored)
    return Fact(position=int(position), loan_id=loan_id, version=int(version), event=event)
