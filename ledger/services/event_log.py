"""Aggregates of one kind read from the notification log by their events' topics, a page at a
time, on SQLite and PostgreSQL alike: the dispute cases and the approval requests are listed
this way, with no table of their own to keep."""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import get_topic

from ledger.adapters.sql import Sql

PAGE = 1000


def events_by_originator(
    app: Application[UUID], classes: tuple[type, ...]
) -> dict[UUID, list[Any]]:
    """Every event of ``classes`` in the store, grouped by aggregate, each group in order."""
    topics = [get_topic(c) for c in classes]
    grouped: dict[UUID, list[Any]] = defaultdict(list)
    start: int | None = None
    while True:
        page = app.recorder.select_notifications(
            start=start, limit=PAGE, topics=topics, inclusive_of_start=start is None
        )
        for n in page:
            event: Any = app.mapper.to_domain_event(n)
            grouped[event.originator_id].append(event)
        if len(page) < PAGE:
            return grouped
        start = page[-1].id


def created_as(app: Application[UUID], aggregate_id: UUID, created: type) -> Any | None:
    """The aggregate ``aggregate_id`` if its first event is a ``created`` (another kind's id,
    a loan's, is not read as one), else None."""
    first = app.recorder.select_events(aggregate_id, limit=1)
    if not first or first[0].topic != get_topic(created):
        return None
    with suppress(AggregateNotFoundError):
        return app.repository.get(aggregate_id)
    return None


def count_of(app: Application[UUID], event_class: type) -> int:
    """How many events of ``event_class`` the store holds (one per aggregate, for a created
    event: the number of such aggregates, for numbering the next one)."""
    sql, recorder = Sql(app), cast(Any, app.recorder)
    events = sql.table(recorder.events_table_name)
    rows = sql.query(
        f"SELECT COUNT(*) AS counted FROM {events} WHERE topic = ?", [get_topic(event_class)]
    )
    return int(rows[0][0])
