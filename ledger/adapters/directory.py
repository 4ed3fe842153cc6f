"""The loan directory: which loans exist, when they opened, whether they are closed.

Close-of-business must list the open loans without scanning every event. The directory is a
small read model kept from the notification log (only the ``Disbursed``, ``Closed``,
``WrittenOff`` (section 14) and linked-account ``Opened`` topics), with its position stored
in the same transaction as its rows, so catching it up applies every event exactly once and
a crash loses nothing. A row it cannot read (a broken stored event) quarantines that loan
under the name ``loan_directory`` (:mod:`ledger.adapters.quarantine`) and the rest of the
book goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from ledger.adapters.codec import stored_text
from ledger.adapters.quarantine import Failure, Quarantine, one_line
from ledger.adapters.sql import Positions, Sql
from ledger.domain.account import LinkedAccount
from ledger.domain.errors import LedgerError
from ledger.domain.loan import Loan

DISBURSED = get_topic(Loan.Disbursed)
CLOSED = get_topic(Loan.Closed)
CORRECTED = get_topic(Loan.Corrected)  # a correction can close a loan (a back-dated payoff)
WRITTEN_OFF = get_topic(Loan.WrittenOff)  # section 14: its business days no longer run
ACCOUNT_OPENED = get_topic(LinkedAccount.Opened)
TOPICS = [DISBURSED, CLOSED, CORRECTED, WRITTEN_OFF, ACCOUNT_OPENED]
POSITION_NAME = "loan_directory"
# A loan's bucket is its id modulo lcm(1..16): bucket % p == id % p for any p up to 16, so
# partitions can be selected in SQL.
BUCKETS = 720720
MAX_PARTITIONS = 16


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
        self.positions = Positions(self.sql, POSITION_NAME)
        self.quarantine = Quarantine(self.sql)
        with self.sql.transaction() as c:
            self.quarantine.create(c)
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t_dir} (loan_id TEXT PRIMARY KEY, "
                "bucket INTEGER NOT NULL, opened_on TEXT NOT NULL, closed_on TEXT, "
                "has_account INTEGER NOT NULL DEFAULT 0)"
            )
            self.positions.create(c)

    def position(self) -> int:
        return self.positions.get()

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
            opened: list[tuple[str, int, str]] = []
            closed: list[tuple[str, str]] = []
            accounts: list[tuple[str]] = []
            broken: list[Failure] = []
            for n in notifications:
                # Only two fields are needed: read them from the stored JSON instead of
                # rebuilding whole events (a Disbursed event carries all the terms). A row
                # that cannot be read sets its loan apart instead of stopping the book.
                try:
                    self._read(n, opened, closed, accounts)
                except (ValueError, KeyError, TypeError, AttributeError) as error:
                    broken.append(
                        Failure(
                            UUID(str(n.originator_id)),
                            int(n.id),
                            int(n.originator_version),
                            n.topic.rsplit(".", 1)[-1],
                            one_line(error),
                        )
                    )
            with self.sql.transaction() as c:
                for failure in broken:
                    if self.quarantine.find(POSITION_NAME, failure.loan_id) is None:
                        self.quarantine.put(c, POSITION_NAME, failure, None)
                c.executemany(
                    f"INSERT INTO {self.t_dir} (loan_id, bucket, opened_on) VALUES (?, ?, ?) "
                    "ON CONFLICT (loan_id) DO NOTHING",
                    opened,
                )
                c.executemany(
                    f"UPDATE {self.t_dir} SET closed_on = ? WHERE loan_id = ?",
                    closed,
                )
                c.executemany(
                    f"UPDATE {self.t_dir} SET has_account = 1 WHERE loan_id = ?", accounts
                )
                self.positions.move_to(c, notifications[-1].id)
            applied += len(notifications)

    @staticmethod
    def _read(
        n: Any,
        opened: list[tuple[str, int, str]],
        closed: list[tuple[str, str]],
        accounts: list[tuple[str]],
    ) -> None:
        data = orjson.loads(n.state)
        if n.topic == DISBURSED:
            loan_id = UUID(str(n.originator_id))
            opened_on = date.fromisoformat(stored_text(data["on"])).isoformat()
            opened.append((str(loan_id), loan_id.int % BUCKETS, opened_on))
        elif n.topic in (CLOSED, WRITTEN_OFF):
            closed.append(
                (date.fromisoformat(stored_text(data["on"])).isoformat(), str(n.originator_id))
            )
        elif n.topic == CORRECTED:
            state = data["state"]
            if state["status"] == "closed":
                closed_on = date.fromisoformat(stored_text(state["closed_on"])).isoformat()
                closed.append((closed_on, str(n.originator_id)))
        elif n.topic == ACCOUNT_OPENED:
            accounts.append((str(UUID(stored_text(data["loan_id"]))),))

    def _partition_filter(self, partition: int, partitions: int) -> tuple[str, list[Any]]:
        if not 1 <= partitions <= MAX_PARTITIONS or not 0 <= partition < partitions:
            raise LedgerError(
                f"partition {partition} of {partitions}: need 0 <= partition < partitions <= "
                f"{MAX_PARTITIONS}"
            )
        if partitions == 1:
            return "", []
        return " AND bucket % ? = ?", [partitions, partition]

    def first_open_day(self, partition: int = 0, partitions: int = 1) -> date | None:
        where, params = self._partition_filter(partition, partitions)
        rows = self.sql.query(
            f"SELECT MIN(opened_on) FROM {self.t_dir} WHERE closed_on IS NULL{where}", params
        )
        return date.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    def count_open(self, day: date, partition: int = 0, partitions: int = 1) -> int:
        where, params = self._partition_filter(partition, partitions)
        rows = self.sql.query(
            f"SELECT COUNT(*) FROM {self.t_dir} WHERE closed_on IS NULL AND opened_on <= ?{where}",
            [day.isoformat(), *params],
        )
        return int(rows[0][0])

    def open_loans_page(
        self, day: date, *, after: str, limit: int, partition: int = 0, partitions: int = 1
    ) -> list[DirectoryEntry]:
        """Open loans disbursed by ``day``, in id order after ``after``, at most ``limit``."""
        where, params = self._partition_filter(partition, partitions)
        rows = self.sql.query(
            f"SELECT loan_id, opened_on, has_account FROM {self.t_dir} "
            f"WHERE closed_on IS NULL AND opened_on <= ? AND loan_id > ?{where} "
            "ORDER BY loan_id LIMIT ?",
            [day.isoformat(), after, *params, limit],
        )
        return [DirectoryEntry(UUID(r[0]), date.fromisoformat(r[1]), bool(r[2])) for r in rows]

    def loan_ids_page(
        self, *, after: str, limit: int, partition: int = 0, partitions: int = 1
    ) -> list[UUID]:
        """Every loan, open or closed, in id order after ``after``, at most ``limit``: a book
        read a page at a time (``ledger audit verify --all``), one partition of it or all."""
        where, params = self._partition_filter(partition, partitions)
        rows = self.sql.query(
            f"SELECT loan_id FROM {self.t_dir} WHERE loan_id > ?{where} ORDER BY loan_id LIMIT ?",
            [after, *params, limit],
        )
        return [UUID(r[0]) for r in rows]

    def all_loan_ids(self) -> list[UUID]:
        return [UUID(r[0]) for r in self.sql.query(f"SELECT loan_id FROM {self.t_dir}")]
