"""The PostgreSQL recorder with the ledger's insert (issue 18, point 1).

The library's recorder sends a save's events as one text array of a composite type
(``unnest(%s::stored_event[])``), built and text-escaped by the driver row by row; in
pipeline mode the ``LOCK TABLE ... IN EXCLUSIVE MODE`` that serialises every writer reaches
the server before that encoding is done, so the lock is held while the client encodes. This
recorder keeps the library's transaction, lock, ``NOTIFY`` and ``RETURNING notification_id``
(notification ids stay gapless and in commit order), and changes only what is sent: four
scalar arrays in binary (``unnest(uuid[], int8[], text[], bytea[])``), gathered before the
lock is asked for.

It is the default of a PostgreSQL store (:func:`ledger.adapters.persistence.parse_database_url`);
go back to the library's insert with
``APPLICATION_RECORDER_TOPIC=eventsourcing.postgres:PostgresApplicationRecorder``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier


class BinaryArrayRecorder(PostgresApplicationRecorder):
    """:class:`PostgresApplicationRecorder` inserting binary scalar arrays."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.binary_insert_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.binary_insert_statement, columns)
