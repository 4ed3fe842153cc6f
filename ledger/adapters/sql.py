"""A few statements of our own beside the library's tables, on SQLite or PostgreSQL.

Statements are written with ``?`` placeholders and run on the application's own datastore
(its connection pool), so they share its database, schema and credentials.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

STARTUP_LOCK_KEY = 7_310_420_512  # the advisory lock held while tables are created


class Sql:
    def __init__(self, app: Any) -> None:
        recorder = app.recorder
        self.datastore = recorder.datastore
        self.is_postgres = type(recorder.datastore).__module__ == "eventsourcing.postgres"
        schema = getattr(self.datastore, "schema", "") or "public"
        self.prefix = f'"{schema}".' if self.is_postgres else ""

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _sql(self, statement: str) -> str:
        if self.is_postgres:
            return statement.replace("%", "%%").replace("?", "%s")
        return statement

    def tuples(self, curs: Any) -> Any:
        """``curs`` reading rows as tuples: on PostgreSQL the library's connections make
        dicts (a dict a row costs, and two computed columns of one name collapse)."""
        if self.is_postgres:
            from psycopg.rows import tuple_row

            curs.row_factory = tuple_row
        return curs

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=True) as curs:
            yield Cursor(curs, self)

    @contextmanager
    def ddl(self) -> Iterator[Cursor]:
        """A transaction for ``CREATE TABLE IF NOT EXISTS``: on PostgreSQL it first takes the
        startup advisory lock, so two processes starting at once do not race on the catalog."""
        with self.transaction() as c:
            if self.is_postgres:
                c.execute("SELECT pg_advisory_xact_lock(?)", [STARTUP_LOCK_KEY])
            yield c

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as tuples."""
        with self.datastore.transaction(commit=False) as curs:
            self.tuples(curs).execute(self._sql(statement), list(params))
            return [tuple(r) for r in curs.fetchall()]


def upsert_statement(
    table: str, columns: Sequence[str], key: Sequence[str], *, values: str | None = None
) -> str:
    """``INSERT`` of ``columns`` (``?`` placeholders, or the rows ``values`` selects), or on
    a conflict on ``key`` an update of all the others (SQLite and PostgreSQL)."""
    others = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    rows = values or f"VALUES ({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {rows} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {others}"
    )


class Cursor:
    def __init__(self, curs: Any, sql: Sql) -> None:
        self.curs = sql.tuples(curs)  # rows as tuples, whoever made the cursor
        self.sql = sql

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        self.curs.execute(self.sql._sql(statement), list(params))
        raw = getattr(self.curs, "sqlite_cursor", self.curs)  # the library wraps sqlite3's
        return int(raw.rowcount)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.curs.executemany(self.sql._sql(statement), [list(r) for r in rows])

    def upsert_rows(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        key: str,
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows`` (values of ``columns``: name and PostgreSQL type), or on a conflict
        on ``key`` update the other columns. On PostgreSQL one statement over binary arrays
        (``unnest(%b::type[], ...)``: thousands of rows without a statement or a text escape
        a row); on SQLite a statement a row."""
        if not rows:
            return
        names = [name for name, _ in columns]
        if not self.sql.is_postgres:
            self.executemany(upsert_statement(table, names, (key,)), rows)
            return
        arrays = ", ".join(f"%b::{kind}[]" for _, kind in columns)
        self.curs.execute(  # %b: the statement bypasses _sql's ? placeholders
            upsert_statement(table, names, (key,), values=f"SELECT * FROM unnest({arrays})"),
            [list(column) for column in zip(*rows, strict=True)],
        )

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.curs.fetchall()]


STREAM_PAGE = 1_000  # rows per fetch of a streamed read


class Snapshot:
    """One read-only transaction that sees the database as it was when it began, for reads
    that must agree with each other (a position and the rows written with it), and rows read
    from a cursor a page at a time (:meth:`stream`): constant memory however many there are.
    On PostgreSQL a ``REPEATABLE READ, READ ONLY`` transaction and a server-side (named)
    cursor, which fetches ``page`` rows per round trip; on SQLite (WAL mode) a read
    transaction and ``fetchmany``, which steps the statement only as far as asked."""

    def __init__(self, curs: Any, sql: Sql) -> None:
        self.curs = sql.tuples(curs)  # rows as tuples, whoever made the cursor
        self.sql = sql
        self.pages = 0  # pages fetched by stream(), for the tests that it streams
        self.streams = 0

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A small read, every row at once."""
        self.curs.execute(self.sql._sql(statement), list(params))
        return [tuple(r) for r in self.curs.fetchall()]

    def stream(
        self, statement: str, params: Sequence[Any] = (), *, page: int = STREAM_PAGE
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of ``statement``, fetched ``page`` at a time as they are consumed."""
        self.streams += 1
        if self.sql.is_postgres:
            cursor = self.sql.tuples(
                self.curs.connection.cursor(name=f"ledger_stream_{self.streams}")
            )
        else:
            cursor = self.curs.sqlite_cursor.connection.cursor()
        try:
            cursor.execute(self.sql._sql(statement), list(params))
            while True:
                rows = cursor.fetchmany(page)
                self.pages += 1
                if not rows:
                    return
                for r in rows:
                    yield tuple(r)
        finally:
            cursor.close()


@contextmanager
def snapshot(sql: Sql) -> Iterator[Snapshot]:
    """A :class:`Snapshot` of ``sql``'s database, rolled back (it writes nothing) at the end."""
    with sql.datastore.transaction(commit=False) as curs:
        if sql.is_postgres:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield Snapshot(curs, sql)


POSITIONS = "ledger_positions"  # each read model's position in the notification log


class Positions:
    """Where each of our own read models (the loan directory, the collections book) stands in
    the notification log: stored in the same transaction as the rows it applied."""

    def __init__(self, sql: Sql, name: str) -> None:
        self.sql, self.name = sql, name
        self.table = sql.table(POSITIONS)

    def create(self, c: Cursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
        )

    def get(self) -> int:
        rows = self.sql.query(f"SELECT position FROM {self.table} WHERE name = ?", [self.name])
        return int(rows[0][0]) if rows else 0

    def move_to(self, c: Cursor, position: int) -> None:
        """Forward only: a slower writer of the same read model never moves it back."""
        c.execute(
            f"INSERT INTO {self.table} (name, position) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET position = excluded.position "
            f"WHERE excluded.position > {self.table}.position",
            [self.name, position],
        )
