"""The SQL view ``ledger_events_readable``: every stored event with its JSON as text (issue
18, point 5), for a person at a SQL prompt. The stored form is compact JSON
(:mod:`ledger.adapters.codec`): amounts and dates as plain text, nested values with short tags
(``{"#dec": "94.64"}``); events written before it keep the library's tagged form.

    SELECT topic, state FROM ledger_events_readable
    WHERE originator_id = '...' ORDER BY originator_version;

On PostgreSQL ``state`` is ``json`` (``state->>'on'``); on SQLite it is text (``state ->> 'on'``
with SQLite's JSON functions).
"""

from __future__ import annotations

from typing import Any

from ledger.adapters.sql import Sql

VIEW = "ledger_events_readable"


def create_readable_view(app: Any) -> None:
    """Create (or replace) the view over the application's events table. Called while the
    store starts, under the start-up lock on PostgreSQL."""
    sql = Sql(app)
    events = app.recorder.events_table_name
    with sql.transaction() as c:
        if sql.is_postgres:
            c.execute(
                f"CREATE OR REPLACE VIEW {sql.table(VIEW)} AS SELECT notification_id, "
                "originator_id, originator_version, topic, convert_from(state, 'UTF8')::json "
                f"AS state FROM {sql.table(events)}"
            )
        else:
            c.execute(
                f"CREATE VIEW IF NOT EXISTS {VIEW} AS SELECT rowid AS notification_id, "
                f"originator_id, originator_version, topic, CAST(state AS TEXT) AS state "
                f"FROM {events}"
            )
