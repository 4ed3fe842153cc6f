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

The same code runs on SQLite and PostgreSQL: it pulls with ``select_notifications`` and does
not need the recorder's ``subscribe()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from ledger.sql import Cursor, Sql
from projections.facts import (
    DISBURSED_TOPIC,
    LOAN_TOPICS,
    Fact,
    fact_from_notification,
    fact_from_row,
)
from projections.loan_fold import LoanFold

POSITIONS_TABLE = "ledger_positions"  # shared with the loan directory
REBUILDS_TABLE = "ledger_projection_rebuilds"
SCHEMAS_TABLE = "ledger_projection_schemas"
REBUILDING = -1  # the position of a projection while it is being rebuilt
DEFAULT_PAGE = 5_000
DEFAULT_CACHE = 50_000
ProgressCallback = Callable[[str, int, int], None]


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` of ``columns``, or on a conflict on ``key`` an update of all the others
    (``?`` placeholders; SQLite and PostgreSQL)."""
    others = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {others}"
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


class LoanProjection(Projection):
    """A projection computed from each loan's :class:`LoanFold`.

    Folds are kept in a table of the projection's own (so it can be rebuilt alone) and in a
    bounded in-memory cache; the cache is only trusted while this process holds the position
    (any failed batch clears it). Subclasses implement :meth:`before` / :meth:`after` to
    collect row writes per fact, and :meth:`write` to flush them."""

    def __init__(self, sql: Sql, cache_size: int = DEFAULT_CACHE) -> None:
        super().__init__(sql)
        self.t_folds = sql.table(f"ledger_{self.name}_folds")
        self.cache: OrderedDict[UUID, LoanFold] = OrderedDict()
        self.cache_size = cache_size

    def create_folds(self, c: Cursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t_folds} "
            "(loan_id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL)"
        )

    def fold_tables(self) -> list[tuple[str, str]]:
        return [(self.t_folds, "loan_id")]

    def forget(self) -> None:
        self.cache.clear()

    def _load(self, loan_ids: Iterable[UUID], c: Cursor) -> None:
        missing = [str(i) for i in loan_ids if i not in self.cache]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            c.execute(f"SELECT state FROM {self.t_folds} WHERE loan_id IN ({marks})", chunk)
            for (state,) in c.fetchall():
                fold = LoanFold.from_json(state)
                self.cache[fold.loan_id] = fold

    def apply(self, facts: list[Fact], c: Cursor) -> None:
        opened = {f.loan_id for f in facts if f.kind == "Disbursed"}
        self._load({f.loan_id for f in facts} - opened, c)
        dirty: dict[UUID, LoanFold] = {}
        for fact in facts:
            fold = self.cache.get(fact.loan_id)
            if fact.kind == "Disbursed":
                if fold is not None:
                    raise ValueError(f"loan {fact.loan_id} disbursed twice (event {fact.position})")
                fold = LoanFold.disbursed(fact)
                self.cache[fact.loan_id] = fold
                self.after(fold, fact)
            else:
                if fold is None:
                    raise ValueError(
                        f"loan {fact.loan_id}: {fact.kind} (event {fact.position}) before its "
                        "Disbursed event"
                    )
                self.before(fold, fact)
                fold.apply(fact)
                self.after(fold, fact)
            dirty[fact.loan_id] = fold
        self.write(c)
        c.executemany(
            upsert(self.t_folds, ("loan_id", "version", "state"), ("loan_id",)),
            [(str(i), f.version, f.to_json()) for i, f in dirty.items()],
        )
        for loan_id in dirty:
            self.cache.move_to_end(loan_id)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def before(self, fold: LoanFold, fact: Fact) -> None:
        """Called before ``fact`` moves ``fold`` (not for ``Disbursed``)."""

    @abstractmethod
    def after(self, fold: LoanFold, fact: Fact) -> None:
        """Called once ``fact`` has moved ``fold``: record the rows to write."""

    @abstractmethod
    def write(self, c: Cursor) -> None:
        """Write the rows recorded since the last call, and forget them."""


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

    def _head_query(self) -> str:
        table, column = self._events_table()
        marks = ",".join("?" * len(LOAN_TOPICS))
        return f"SELECT MAX({column}) AS head FROM {table} WHERE topic IN ({marks})"

    def _head(self, c: Cursor) -> int:
        c.execute(self._head_query(), LOAN_TOPICS)
        return int(c.fetchall()[0][0] or 0)

    def _move(self, c: Cursor, start: int, to: int) -> None:
        """The position from ``start`` to ``to``, by compare-and-set, in ``c``'s transaction."""
        moved = c.execute(
            f"UPDATE {self.t_pos} SET position = ? WHERE name = ? AND position = ?",
            [to, self.key, start],
        )
        if moved != 1:
            raise PositionMoved(f"{self.name}: position moved from {start}")

    def position(self) -> int:
        rows = self.sql.query(f"SELECT position FROM {self.t_pos} WHERE name = ?", [self.key])
        return int(rows[0][0]) if rows else 0

    def _events_table(self) -> tuple[str, str]:
        table = self.sql.table(self.app.recorder.events_table_name)
        return table, "notification_id" if self.sql.is_postgres else "rowid"

    def head(self) -> int:
        """The id of the last loan event in the log (0 when there is none)."""
        return int(self.sql.query(self._head_query(), LOAN_TOPICS)[0][0] or 0)

    def lag(self, position: int | None = None) -> int:
        """How many loan events are recorded after the stored position."""
        table, column = self._events_table()
        marks = ",".join("?" * len(LOAN_TOPICS))
        rows = self.sql.query(
            f"SELECT COUNT(*) FROM {table} WHERE {column} > ? AND topic IN ({marks})",
            [self.position() if position is None else position, *LOAN_TOPICS],
        )
        return int(rows[0][0])

    def step(self, limit: int | None = None) -> int:
        """Apply the next page of events; return how many (0: caught up)."""
        start = self.position()
        if start == REBUILDING:
            return self._rebuild_step()
        notifications = self.app.recorder.select_notifications(
            start=start, limit=limit or self.page, topics=LOAN_TOPICS, inclusive_of_start=False
        )
        if not notifications:
            return 0
        facts = [f for f in map(fact_from_notification, notifications) if f is not None]
        last = int(notifications[-1].id)
        if start != self.written:
            # Another projector moved the position since this one last wrote: the folds it
            # cached may be behind the stored ones. Read them again.
            self.projection.forget()
        try:
            with self.sql.transaction() as c:
                self._move(c, start, last)
                self.projection.apply(facts, c)
        except BaseException:
            self.projection.forget()  # the cache may hold folds of the rolled-back batch
            self.written = None
            raise
        self.written = last
        return len(facts)

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
        """The next page of loans of a rebuild (or its end); return the events applied."""
        target, after = self._rebuild_state()
        table, column = self._events_table()
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
            with self.sql.transaction() as c:
                self._move(c, REBUILDING, target)  # another projector may have finished it
                c.execute(f"DELETE FROM {self.t_rebuild} WHERE name = ?", [self.key])
            self.written = target
            return self.step()  # the rebuild is done: go on with what came after its target
        marks = ",".join("?" * len(loans))
        # Only the key in SQL, so the primary key index is used (a condition on the position
        # makes PostgreSQL scan the notification index instead: 30 times slower here).
        rows = self.sql.query(
            f"SELECT {column} AS position, originator_id, originator_version, topic, state "
            f"FROM {table} WHERE originator_id IN ({marks}) "
            "ORDER BY originator_id, originator_version",
            loans,
        )
        facts = [f for f in map(fact_from_row, rows) if f is not None and f.position <= target]
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
                self.projection.apply(facts, c)
        finally:
            self.projection.forget()  # a rebuild keeps one page of loans in memory at most
            self.written = None
        return len(facts)

    def dump(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every row of every table, in key order (for the rebuild tests)."""
        return [
            (table, self.sql.query(f"SELECT * FROM {table} ORDER BY {order}"))
            for table, order in self.projection.tables()
        ]
