"""A batch save split into transactions of at most :data:`MAX_EVENTS_PER_SAVE` events, each
holding whole loans (issue 18, item 1).

**Why.** The library's PostgreSQL recorder sends a save as one statement in pipeline mode
(psycopg 3.3). A save big enough never returns: the server waits in ``ClientRead`` for the
rest of a statement the client never finishes sending, and the pass hangs for good. The issue
measured it with loan events (about 550 bytes each): 15,000 events hang, 10,000 work. On this
machine, with one-event linked accounts (about 260 bytes of state each), 45,000 events in one
save hung (the server in ``ClientRead``) and so did 60,000, while 10,000, 15,000, 30,000 and
38,000 went through in 2-5 s: the size that hangs is a matter of bytes (roughly 10 MB of
rows), and it is not sharp. A catch-up batch of 1,000 loans that each run 15 missing days
reaches it.

**The limit.** 5,000 events: a third of the smallest save of loan events seen hanging, and
at close-of-business sizes (under 1 KB an event) under 5 MB a statement. The limit counts
events, not bytes, because the bytes are only known once the recorder has encoded them.

**Whole loans.** A part never splits one loan's events, and a loan's linked account goes in
the same part as its loan (a deduction and the debit it causes are saved together). A loan
with more events than the limit on its own (a backlog of more than 13 years) is one part by
itself, over the limit: its events are one transaction, as they always were.

**A part that fails.** Each part is a transaction of its own. If part *k* fails the version
check (a concurrent writer changed one of its loans), parts 1 .. *k*-1 stay committed and
:class:`PartlySaved` (an ``IntegrityError``) is raised. Close-of-business then does what it
does for any batch that met a concurrent writer: it reloads the whole batch and redoes it. The
loans already saved have run the day (``loan.closed_through >= day``), so the pass skips them;
a morning pass rerun on them adds nothing (one deduction a day: ``last_deduction_on``). This
is the same state as a pass stopped between two batches, which the calendar already allows:
the day is recorded closed only once every loan ran it. ``tests/store/test_save_parts.py``
checks both a save over the limit and a failure after a committed part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from ledger.domain.account import LinkedAccount
from ledger.domain.loan import Loan

MAX_EVENTS_PER_SAVE = 5_000


class PartlySaved(IntegrityError):  # type: ignore[misc]
    """A split save whose part lost the version check after the parts before it were
    committed: ``recordings`` and ``loans`` are what those parts saved."""

    def __init__(self, recordings: list[Any], loans: int) -> None:
        super().__init__(f"a later part failed after {len(recordings)} events were saved")
        self.recordings = recordings
        self.loans = loans


def save_parts(aggregates: Sequence[Any], limit: int) -> list[ProcessingEvent[UUID]]:
    """The pending events of ``aggregates`` (collected here), in parts of at most ``limit``
    events each, in the order given; a loan and its linked account always share a part."""
    units: dict[UUID, list[tuple[Any, list[Any]]]] = {}
    for aggregate in aggregates:
        key = aggregate.loan_id if isinstance(aggregate, LinkedAccount) else aggregate.id
        units.setdefault(key, []).append((aggregate, aggregate.collect_events()))
    parts: list[ProcessingEvent[UUID]] = []
    part: ProcessingEvent[UUID] = ProcessingEvent()
    size = 0
    for unit in units.values():
        events = sum(len(pending) for _, pending in unit)
        if part.events and size + events > limit:
            parts.append(part)
            part, size = ProcessingEvent(), 0
        for aggregate, pending in unit:
            part.events.extend(pending)
            part.aggregates[aggregate.id] = aggregate
        size += events
    if part.events:
        parts.append(part)
    return parts


def loans_in(part: ProcessingEvent[UUID]) -> int:
    return sum(isinstance(a, Loan) for a in part.aggregates.values())
