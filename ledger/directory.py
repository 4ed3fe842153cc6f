"""The loan directory: which loans exist, when they opened, whether they are closed.

Close-of-business must list the open loans without scanning every event. The directory is a
small read model kept from the notification log (only the ``Disbursed``, ``Closed`` and
linked-account ``Opened`` topics), with its position stored in the same transaction as its
rows, so catching it up applies every event exactly once and a crash loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.domain.account import LinkedAccount
from ledger.domain.loan import Loan
from ledger.sql import Sql

TOPICS = [get_topic(Loan.Disbursed), get_topic(Loan.Closed), get_topic(LinkedAccount.Opened)]
POSITION_NAME = "loan_directory"


@dataclass(frozen=True)
class DirectoryEntry:
    loan_id: UUID
    opened_on: date
    has_account: bool


def partition_of(loan_id: UUID, partitions: int) -> int:
    """The partition a loan belongs to: its id modulo the number of partitions."""
    return loan_id.int % partitions


class LoanDirectory:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.sql = Sql(app)
        self.t_dir = self.sql.table("ledger_loan_directory")
        self.t_pos = self.sql.table("ledger_positions")
        with self.sql.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t_dir} (loan_id TEXT PRIMARY KEY, "
                "opened_on TEXT NOT NULL, closed_on TEXT, has_account INTEGER NOT NULL DEFAULT 0)"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t_pos} "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )

    def position(self) -> int:
        rows = self.sql.query(f"SELECT position FROM {self.t_pos} WHERE name = ?", [POSITION_NAME])
        return int(rows[0][0]) if rows else 0

    def catch_up(self, page: int = 10_000) -> int:
        """Apply every directory event recorded after the stored position; return how many."""
        applied = 0
        recorder = self.app.recorder
        while True:
            start = self.position()
            notifications = recorder.select_notifications(
                start=start, limit=page, topics=TOPICS, inclusive_of_start=False
            )
            if not notifications:
                return applied
            opened: list[tuple[str, str]] = []
            closed: list[tuple[str, str]] = []
            accounts: list[tuple[str]] = []
            for n in notifications:
                event = self.app.mapper.to_domain_event(n)
                if isinstance(event, Loan.Disbursed):
                    opened.append((str(n.originator_id), event.on.isoformat()))
                elif isinstance(event, Loan.Closed):
                    closed.append((event.on.isoformat(), str(n.originator_id)))
                elif isinstance(event, LinkedAccount.Opened):
                    accounts.append((str(event.loan_id),))
            with self.sql.transaction() as c:
                c.executemany(
                    f"INSERT INTO {self.t_dir} (loan_id, opened_on) VALUES (?, ?) "
                    "ON CONFLICT (loan_id) DO NOTHING",
                    opened,
                )
                c.executemany(f"UPDATE {self.t_dir} SET closed_on = ? WHERE loan_id = ?", closed)
                c.executemany(
                    f"UPDATE {self.t_dir} SET has_account = 1 WHERE loan_id = ?", accounts
                )
                c.execute(
                    f"INSERT INTO {self.t_pos} (name, position) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET position = excluded.position "
                    f"WHERE excluded.position > {self.t_pos}.position",
                    [POSITION_NAME, notifications[-1].id],
                )
            applied += len(notifications)

    def open_loans(self, partition: int = 0, partitions: int = 1) -> list[DirectoryEntry]:
        rows = self.sql.query(
            f"SELECT loan_id, opened_on, has_account FROM {self.t_dir} "
            "WHERE closed_on IS NULL ORDER BY opened_on, loan_id"
        )
        entries = [DirectoryEntry(UUID(r[0]), date.fromisoformat(r[1]), bool(r[2])) for r in rows]
        if partitions > 1:
            entries = [e for e in entries if partition_of(e.loan_id, partitions) == partition]
        return entries

    def counts(self) -> dict[str, int]:
        rows = self.sql.query(
            f"SELECT closed_on IS NULL, COUNT(*) FROM {self.t_dir} GROUP BY closed_on IS NULL"
        )
        result = {"open": 0, "closed": 0}
        for is_open, count in rows:
            result["open" if is_open else "closed"] = int(count)
        return result
