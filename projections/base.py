"""Projections and the projector that feeds them, exactly once.

A :class:`Projection` owns some tables and turns a batch of :class:`~projections.facts.Fact`
into row writes. The :class:`Projector` pulls loan events from the notification log after the
projection's stored position and, in **one transaction**, moves the position forward with a
compare-and-set (``UPDATE ... WHERE position = <the one it read>``) and writes the rows. So:

- a crash (even ``kill -9``) before the commit loses the rows *and* the position move: the
  next run reapplies the same events; after the commit both are there: nothing is applied twice;
- two projectors running the same projection cannot both apply a batch: the second one's
  compare-and-set changes no row (on PostgreSQL it waits for the first one's row lock, then
  sees the new position), so it rolls back, forgets what it had cached and reads on from the
  position the other one stored;
- a projector trusts its in-memory cache of folds only while the stored position is the one it
  wrote itself; if another projector moved it in between, the cache is dropped and the folds
  are read back from the table.

A batch that raises because of one loan's events does not stop the projection: that loan is
quarantined in the same transaction and every other loan goes on (see
:mod:`projections.quarantine`).

The same code runs on SQLite and PostgreSQL: it pulls with ``select_notifications`` and does
not need the recorder's ``subscribe()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from ledger.adapters.quarantine import Quarantine
from ledger.adapters.sql import Cursor, Sql, upsert_statement
from ledger.domain.errors import Quarantined
from projections.facts import DISBURSED_TOPIC, LOAN_TOPICS, Fact
from projections.quarantine import apply_batch, read_facts

POSITIONS_TABLE = "ledger_positions"  # shared with the loan directory
REBUILDS_TABLE = "ledger_projection_rebuilds"
SCHEMAS_TABLE = "ledger_projection_schemas"
REBUILDING = -1  # the position of a projection while it is being rebuilt
DEFAULT_PAGE = 5_000
DEFAULT_CACHE = 50_000
ProgressCallback = Callable[[str, int, int], None]


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` of ``columns``, or on a conflict on ``key`` an update of all the others
    (``?`` placeholders; :func:`ledger.adapters.sql.upsert_statement`)."""
    return upsert_statement(table, columns, key)


def events_table(app: Any, sql: Sql) -> tuple[str, str]:
    """The application's events table and its column of positions in the log."""
    return sql.table(app.recorder.events_table_name), (
        "notification_id" if sql.is_postgres else "rowid"
    )


class PositionMoved(Exception):
    """Another projector stored a new position first; this batch was rolled back."""


class Projection(ABC):
    """Tables built from loan events. Subclasses name themselves and their tables."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Raise when the tables change shape: a store with another version drops the tables and
    # rebuilds them (the events are the truth; the tables can always be made again).
    schema: ClassVar[int] = 1

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self.quarantine = Quarantine(sql)

    @abstractmethod
    def create(self, c: Cursor) -> None:
        """Create the projection's tables if they do not exist."""

    @abstractmethod
    def tables(self) -> list[tuple[str, str]]:
        """(table, ORDER BY columns) of every table the projection owns."""

    @abstractmethod
    def apply(self, facts: list[Fact], c: Cursor) -> None:
        """Write what ``facts`` change, inside the projector's transaction."""

    def forget(self) -> None:  # noqa: B027 - optional: only caching projections override it
        """Drop anything cached in memory (after a rollback or a rebuild)."""

    def drop(self, c: Cursor) -> None:
        for table, _ in self.tables():
            c.execute(f"DROP TABLE IF EXISTS {table}")
        self.forget()

    def clear(self, c: Cursor) -> None:
        for table, _ in self.tables():
            # TRUNCATE is transactional on PostgreSQL, and much faster than DELETE
            c.execute(f"TRUNCATE {table}" if self.sql.is_postgres else f"DELETE FROM {table}")
        self.forget()

    def loan_tables(self) -> list[str]:
        """The tables keyed by ``loan_id``: what :meth:`remove` deletes a loan from."""
        return [table for table, _ in self.tables()]

    def remove(self, loan_id: UUID, c: Cursor) -> None:
        """Delete every row of one loan (a quarantined loan keeps none)."""
        for table in self.loan_tables():
            c.execute(f"DELETE FROM {table} WHERE loan_id = ?", [str(loan_id)])

    def reference_of(self, loan_id: UUID, c: Cursor) -> str | None:
        """The reference the loan was opened with, if the projection keeps it (for messages)."""
        return None

    def refuse_quarantined(self, loan_id: UUID) -> None:
        """Raise :class:`Quarantined` if the loan is quarantined in this projection: a reader
        that found no rows calls it, so a set-apart loan is not taken for an unknown one."""
        held = self.quarantine.find(self.name, loan_id)
        if held is not None:
            raise Quarantined(held.message())


class Projector:
    """Feeds one projection from the notification log, exactly once."""

    def __init__(self, app: Any, projection: Projection, *, page: int = DEFAULT_PAGE) -> None:
        self.app = app
        self.projection = projection
        self.sql: Sql = projection.sql
        self.page = page
        self.t_pos = self.sql.table(POSITIONS_TABLE)
        self.key = f"projection:{projection.name}"
        self.t_rebuild = self.sql.table(REBUILDS_TABLE)
        self.t_schema = self.sql.table(SCHEMAS_TABLE)
        self.written: int | None = None  # the position this projector last stored

    @property
    def name(self) -> str:
        return self.projection.name

    def create(self, c: Cursor) -> None:
        """Create the tables; if they were made for another schema version, drop them and
        start a rebuild (finished by the first catch-up)."""
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t_rebuild} (name TEXT PRIMARY KEY, "
            "target BIGINT NOT NULL, after_loan TEXT)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t_schema} (name TEXT PRIMARY KEY, "
            "version INTEGER NOT NULL)"
        )
        self.projection.quarantine.create(c)
        c.execute(f"SELECT version FROM {self.t_schema} WHERE name = ?", [self.key])
        found = c.fetchall()
        current = int(found[0][0]) if found else None
        if current != self.projection.schema:
            self.projection.drop(c)
            self.projection.create(c)
            self._start_rebuild(c, self._head(c))
            c.execute(
                f"INSERT INTO {self.t_schema} (name, version) VALUES (?, ?) ON CONFLICT (name) "
                "DO UPDATE SET version = excluded.version",
                [self.key, self.projection.schema],
            )
        else:
            self.projection.create(c)

    def _start_rebuild(self, c: Cursor, target: int) -> None:
        c.execute(
            f"INSERT INTO {self.t_pos} (name, position) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET position = excluded.position",
            [self.key, REBUILDING],
        )
        c.execute(f"DELETE FROM {self.t_rebuild} WHERE name = ?", [self.key])
        c.execute(
            f"INSERT INTO {self.t_rebuild} (name, target, after_loan) VALUES (?, ?, NULL)",
            [self.key, target],
        )
        self.projection.quarantine.clear(c, self.name)  # a rebuild reads every loan again

    def _head_query(self) -> str:
        table, column = self.events_table()
        marks = ",".join("?" * len(LOAN_TOPICS))
        return f"SELECT MAX({column}) AS head FROM {table} WHERE topic IN ({marks})"

    def _head(self, c: Cursor) -> int:
        c.execute(self._head_query(), LOAN_TOPICS)
        return int(c.fetchall()[0][0] or 0)

    def move(self, c: Cursor, start: int, to: int) -> None:
        """The position from ``start`` to ``to``, by compare-and-set, in ``c``'s transaction
        (``start`` to itself holds it: no other projector applies a batch until commit)."""
        moved = c.execute(
            f"UPDATE {self.t_pos} SET position = ? WHERE name = ? AND position = ?",
            [to, self.key, start],
        )
        if moved != 1:
            raise PositionMoved(f"{self.name}: position moved from {start}")

    def position(self) -> int:
        rows = self.sql.query(f"SELECT position FROM {self.t_pos} WHERE name = ?", [self.key])
        return int(rows[0][0]) if rows else 0

    def events_table(self) -> tuple[str, str]:
        return events_table(self.app, self.sql)

    def head(self) -> int:
        """The id of the last loan event in the log (0 when there is none)."""
        return int(self.sql.query(self._head_query(), LOAN_TOPICS)[0][0] or 0)

    def lag(self, position: int | None = None) -> int:
        """How many loan events are recorded after the stored position."""
        table, column = self.events_table()
        marks = ",".join("?" * len(LOAN_TOPICS))
        rows = self.sql.query(
            f"SELECT COUNT(*) FROM {table} WHERE {column} > ? AND topic IN ({marks})",
            [self.position() if position is None else position, *LOAN_TOPICS],
        )
        return int(rows[0][0])

    def step(self, limit: int | None = None) -> int:
        """Apply the next page of events; return how many were read: applied, or passed over
        for a quarantined loan (0: caught up)."""
        start = self.position()
        if start == REBUILDING:
            return self._rebuild_step()
        notifications = self.app.recorder.select_notifications(
            start=start, limit=limit or self.page, topics=LOAN_TOPICS, inclusive_of_start=False
        )
        if not notifications:
            return 0
        facts, broken = read_facts(
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
        )
        last = int(notifications[-1].id)
        if start != self.written:
            # Another projector moved the position since this one last wrote: the folds it
            # cached may be behind the stored ones. Read them again.
            self.projection.forget()
        try:
            with self.sql.transaction() as c:
                self.move(c, start, last)
                apply_batch(self.projection, c, facts, broken)
        except BaseException:
            self.projection.forget()  # the cache may hold folds of the rolled-back batch
            self.written = None
            raise
        self.written = last
        return len(notifications)

    def catch_up(
        self,
        *,
        progress: ProgressCallback | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Apply every event recorded after the stored position; return how many."""
        applied = 0
        total = self.lag() if progress else 0
        while stop is None or not stop():
            try:
                n = self.step()
            except PositionMoved:
                continue  # another projector got there first: read on from its position
            if n == 0:
                break
            applied += n
            if progress:
                progress(self.name, applied, max(total, applied))
        return applied

    def rebuild(self, *, progress: ProgressCallback | None = None) -> int:
        """Empty the projection's tables and replay every event from the first one.

        A rebuild does not follow the log's order: every loan's fold depends only on that
        loan's events in version order, so it reads the events **loan by loan** (pages of
        ``page // 50`` loans, in id order, each loan's events in version order, up to the last
        event recorded when the rebuild began) and writes each loan's rows once per page
        instead of once per event. The rows are the same as a replay in log order (the
        rebuild tests compare them byte for byte); the position is ``REBUILDING`` meanwhile
        (any projector that meets it continues the rebuild, from the last loan stored, in
        the same transaction as the rows), and becomes the rebuild's target at the end.
        Events recorded after that are then applied in log order, as usual."""
        with self.sql.transaction() as c:
            self.projection.drop(c)  # drop, not empty: the tables are made again as they are now
            self.projection.create(c)
            self._start_rebuild(c, self._head(c))
        self.projection.forget()
        self.written = None
        return self.catch_up(progress=progress)

    def _rebuild_state(self) -> tuple[int, str | None]:
        rows = self.sql.query(
            f"SELECT target, after_loan FROM {self.t_rebuild} WHERE name = ?", [self.key]
        )
        if not rows:
            raise PositionMoved(f"{self.name}: the rebuild finished meanwhile")
        return int(rows[0][0]), rows[0][1]

    def _loan_param(self, loan_id: str) -> Any:
        return UUID(loan_id) if self.sql.is_postgres else loan_id

    def _rebuild_step(self) -> int:
        """The next page of loans of a rebuild (or its end); return the events read."""
        target, after = self._rebuild_state()
        table, column = self.events_table()
        where = "" if after is None else " AND originator_id > ?"
        params: list[Any] = [DISBURSED_TOPIC, target]
        if after is not None:
            params.append(self._loan_param(after))
        loans = [
            r[0]
            for r in self.sql.query(
                f"SELECT originator_id FROM {table} WHERE topic = ? AND {column} <= ?{where} "
                "ORDER BY originator_id LIMIT ?",
                [*params, max(1, self.page // 50)],
            )
        ]
        if not loans:
            facts, broken = read_facts(self._orphan_rows(target))
            self.projection.forget()
            try:
                with self.sql.transaction() as c:
                    self.move(c, REBUILDING, target)  # another projector may have finished it
                    c.execute(f"DELETE FROM {self.t_rebuild} WHERE name = ?", [self.key])
                    apply_batch(self.projection, c, facts, broken)  # quarantines their loans
            finally:
                self.projection.forget()
            self.written = target
            return self.step()  # the rebuild is done: go on with what came after its target
        facts, broken = read_facts(r for r in self.loan_rows(loans) if int(r[0]) <= target)
        last = str(loans[-1])
        self.projection.forget()
        try:
            with self.sql.transaction() as c:
                if after is None:
                    moved = c.execute(
                        f"UPDATE {self.t_rebuild} SET after_loan = ? "
                        "WHERE name = ? AND after_loan IS NULL",
                        [last, self.key],
                    )
                else:
                    moved = c.execute(
                        f"UPDATE {self.t_rebuild} SET after_loan = ? "
                        "WHERE name = ? AND after_loan = ?",
                        [last, self.key, after],
                    )
                if moved != 1:
                    raise PositionMoved(f"{self.name}: another projector rebuilt these loans")
                apply_batch(self.projection, c, facts, broken)
        finally:
            self.projection.forget()  # a rebuild keeps one page of loans in memory at most
            self.written = None
        return len(facts) + len(broken)

    def _orphan_rows(self, target: int) -> list[tuple[Any, ...]]:
        """The events up to ``target`` of loans without a Disbursed event. A rebuild reads
        loan by loan from their Disbursed events and would never meet them; a catch-up
        quarantines such a loan, so the rebuild's last step does too."""
        table, column = self.events_table()
        others = [t for t in LOAN_TOPICS if t != DISBURSED_TOPIC]
        return self.sql.query(
            f"SELECT {column} AS position, originator_id, originator_version, topic, state "
            f"FROM {table} e WHERE topic IN ({','.join('?' * len(others))}) AND {column} <= ? "
            f"AND NOT EXISTS (SELECT 1 FROM {table} d WHERE d.originator_id = e.originator_id "
            "AND d.topic = ?) ORDER BY originator_id, originator_version",
            [*others, target, DISBURSED_TOPIC],
        )

    def loan_rows(self, loans: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every event of ``loans`` (ids as the events table holds them), as rows
        ``(position, originator_id, originator_version, topic, state)`` in loan and version
        order."""
        table, column = self.events_table()
        marks = ",".join("?" * len(loans))
        # Only the key in SQL, so the primary key index is used (a condition on the position
        # makes PostgreSQL scan the notification index instead: 30 times slower here).
        return self.sql.query(
            f"SELECT {column} AS position, originator_id, originator_version, topic, state "
            f"FROM {table} WHERE originator_id IN ({marks}) "
            "ORDER BY originator_id, originator_version",
            loans,
        )

    def dump(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every row of every table, in key order (for the rebuild tests)."""
        return [
            (table, self.sql.query(f"SELECT * FROM {table} ORDER BY {order}"))
            for table, order in self.projection.tables()
        ]
