"""The ``ledger_quarantine`` table: loans set apart because a read model cannot apply one of
their events, or (``projection = "integrity"``) because the loan failed a tamper check and
may get no new events. The projections (:mod:`projections.quarantine`), the loan directory
(:mod:`ledger.adapters.directory`) and the integrity checks (:mod:`ledger.services.integrity`)
write it; ``ledger status`` and ``/status`` read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.adapters import config
from ledger.adapters.sql import Cursor, Sql

QUARANTINE_TABLE = "ledger_quarantine"
INTEGRITY = "integrity"  # the write side: a loan that failed a tamper check gets no new events
COLUMNS = "projection, loan_id, reference, position, version, kind, error, skipped, quarantined_at"
ONE_LOAN = "WHERE projection = ? AND loan_id = ?"
ERROR_CHARS = 300


def one_line(error: BaseException) -> str:
    """:func:`ledger.adapters.config.one_line`, at most ``ERROR_CHARS`` long (it is stored)."""
    line = config.one_line(error)
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


@dataclass(frozen=True)
class Failure:
    """The first event of a loan that a projection could not apply."""

    loan_id: UUID
    position: int
    version: int
    kind: str
    error: str


@dataclass(frozen=True)
class QuarantinedLoan:
    """A row of ``ledger_quarantine``."""

    projection: str
    loan_id: UUID
    reference: str | None
    position: int
    version: int
    kind: str
    error: str
    skipped: int  # events of the loan after the failed one that the projection passed over
    quarantined_at: str

    @property
    def name(self) -> str:
        return self.reference or str(self.loan_id)

    def message(self) -> str:
        if self.projection == INTEGRITY:
            return (
                f"loan {self.name} is quarantined: it failed an integrity check ({self.error}); "
                f"no new events until `ledger audit release {self.name} --reason ...`"
            )
        return (
            f"loan {self.name} is quarantined in projection {self.projection}: its event "
            f"{self.version} ({self.kind}, log position {self.position}) cannot be applied "
            f"({self.error}); `ledger projections release {self.name}` once it is fixed"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "loan_id": str(self.loan_id),
            "reference": self.reference,
            "projection": self.projection,
            "version": self.version,
            "position": self.position,
            "kind": self.kind,
            "error": self.error,
            "skipped": self.skipped,
            "quarantined_at": self.quarantined_at,
        }


class Quarantine:
    """The ``ledger_quarantine`` table, shared by every projection of a store."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self.t = sql.table(QUARANTINE_TABLE)

    def create(self, c: Cursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (projection TEXT NOT NULL, "
            "loan_id TEXT NOT NULL, reference TEXT, position BIGINT NOT NULL, "
            "version INTEGER NOT NULL, kind TEXT NOT NULL, error TEXT NOT NULL, "
            "skipped BIGINT NOT NULL, quarantined_at TEXT NOT NULL, "
            "PRIMARY KEY (projection, loan_id))"
        )

    def held(self, c: Cursor, projection: str) -> set[UUID]:
        c.execute(f"SELECT loan_id FROM {self.t} WHERE projection = ?", [projection])
        return {UUID(row[0]) for row in c.fetchall()}

    def put(self, c: Cursor, projection: str, failure: Failure, reference: str | None) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = [projection, str(failure.loan_id), reference, failure.position, failure.version]
        c.execute(  # nothing skipped yet: each batch counts what it passes over
            f"INSERT INTO {self.t} ({COLUMNS}) VALUES ({', '.join('?' * 9)})",
            [*values, failure.kind, failure.error, 0, now],
        )

    def count_skipped(self, c: Cursor, projection: str, skipped: Counter[UUID]) -> None:
        c.executemany(
            f"UPDATE {self.t} SET skipped = skipped + ? {ONE_LOAN}",
            [(n, projection, str(loan_id)) for loan_id, n in sorted(skipped.items())],
        )

    def clear(self, c: Cursor, projection: str) -> None:
        c.execute(f"DELETE FROM {self.t} WHERE projection = ?", [projection])

    def take(self, c: Cursor, projection: str, loan_id: UUID) -> QuarantinedLoan | None:
        """Delete the loan's row (in ``c``'s transaction) and return it."""
        c.execute(f"SELECT {COLUMNS} FROM {self.t} {ONE_LOAN}", [projection, str(loan_id)])
        rows = c.fetchall()
        c.execute(f"DELETE FROM {self.t} {ONE_LOAN}", [projection, str(loan_id)])
        return _entry(rows[0]) if rows else None

    def find(self, projection: str, loan_id: UUID) -> QuarantinedLoan | None:
        rows = self.sql.query(
            f"SELECT {COLUMNS} FROM {self.t} {ONE_LOAN}",
            [projection, str(loan_id)],
        )
        return _entry(rows[0]) if rows else None

    def all(self) -> list[QuarantinedLoan]:
        """Every quarantined loan of every projection, oldest event first."""
        rows = self.sql.query(f"SELECT {COLUMNS} FROM {self.t} ORDER BY position, projection")
        return [_entry(r) for r in rows]


def _entry(row: tuple[Any, ...]) -> QuarantinedLoan:
    p, loan_id, reference, position, version, kind, error, skipped, at = row
    return QuarantinedLoan(
        p, UUID(loan_id), reference, int(position), int(version), kind, error, int(skipped), at
    )
