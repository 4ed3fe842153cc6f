"""The collections book (loan-rules §17): every deduction request and its result, one row per
request, kept from the notification log like the loan directory
(:mod:`ledger.adapters.directory`): its position is stored in the same transaction as its
rows, so catching up applies each event once.

It answers what the gateway passes need without reading every loan: the requests still
awaiting a result, and what the ledger believes was collected on a day (reconciliation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from ledger.adapters.codec import stored_text
from ledger.adapters.sql import Positions, Sql
from ledger.domain.loan import Loan

REQUESTED = get_topic(Loan.DeductionRequested)
CORRECTED = get_topic(Loan.Corrected)
RECOVERED = get_topic(Loan.Recovered)  # a result after the write-off (section 14)
WRITTEN_OFF = get_topic(Loan.WrittenOff)  # answers the requests still awaiting a result
TOPICS = [REQUESTED, CORRECTED, RECOVERED, WRITTEN_OFF]
POSITION_NAME = "gateway_book"
PENDING = "pending"
WRITTEN_OFF_STATUS = "written_off"


@dataclass(frozen=True)
class BookedRequest:
    """One request as the ledger recorded it, and its result if one was recorded."""

    request_id: str
    loan_id: UUID
    requested_on: date
    requested: Decimal
    status: str  # pending, settled, partly_settled, bounced
    collected: Decimal
    taken_on: date | None
    result_id: str | None
    request_event: int


def _day(value: Any) -> str:
    return date.fromisoformat(stored_text(value)).isoformat()


def _money(value: Any) -> str:
    return str(Decimal(stored_text(value)))


class GatewayBook:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.sql = Sql(app)
        self.table = self.sql.table("ledger_gateway_requests")
        self.positions = Positions(self.sql, POSITION_NAME)
        with self.sql.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (request_id TEXT PRIMARY KEY, "
                "loan_id TEXT NOT NULL, requested_on TEXT NOT NULL, requested TEXT NOT NULL, "
                "request_event INTEGER NOT NULL, status TEXT NOT NULL, collected TEXT NOT NULL, "
                "taken_on TEXT, result_id TEXT)"
            )
            self.positions.create(c)

    def position(self) -> int:
        return self.positions.get()

    def catch_up(self, page: int = 10_000) -> int:
        """Apply every request and result recorded after the stored position."""
        applied = 0
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position(),
                limit=page,
                topics=TOPICS,
                inclusive_of_start=False,
            )
            if not notifications:
                return applied
            requests: list[tuple[Any, ...]] = []
            results: list[tuple[Any, ...]] = []
            written_off: list[tuple[str]] = []
            for n in notifications:
                data = orjson.loads(n.state)
                if n.topic == WRITTEN_OFF:
                    written_off.append((str(n.originator_id),))
                elif n.topic == REQUESTED:
                    requests.append(
                        (
                            data["request_id"],
                            str(n.originator_id),
                            _day(data["on"]),
                            _money(data["requested"]),
                            int(n.originator_version),
                        )
                    )
                elif isinstance(data.get("result"), dict):
                    r = data["result"]
                    results.append(
                        (
                            r["status"],
                            _money(r["collected"]),
                            _day(r["taken_on"]),
                            r["result_id"],
                            r["request_id"],
                        )
                    )
            with self.sql.transaction() as c:
                c.executemany(
                    f"INSERT INTO {self.table} (request_id, loan_id, requested_on, requested, "
                    "request_event, status, collected) VALUES (?, ?, ?, ?, ?, 'pending', '0.00') "
                    "ON CONFLICT (request_id) DO NOTHING",
                    requests,
                )
                c.executemany(
                    f"UPDATE {self.table} SET status = ?, collected = ?, taken_on = ?, "
                    "result_id = ? WHERE request_id = ?",
                    results,
                )
                c.executemany(
                    f"UPDATE {self.table} SET status = '{WRITTEN_OFF_STATUS}' "
                    "WHERE loan_id = ? AND status = 'pending'",
                    written_off,
                )
                self.positions.move_to(c, notifications[-1].id)
            applied += len(notifications)

    def _select(self, where: str, params: list[Any]) -> list[BookedRequest]:
        rows = self.sql.query(
            "SELECT request_id, loan_id, requested_on, requested, status, collected, taken_on, "
            f"result_id, request_event FROM {self.table} WHERE {where} ORDER BY request_id",
            params,
        )
        return [
            BookedRequest(
                str(r[0]),
                UUID(str(r[1])),
                date.fromisoformat(str(r[2])),
                Decimal(str(r[3])),
                str(r[4]),
                Decimal(str(r[5])),
                date.fromisoformat(str(r[6])) if r[6] else None,
                str(r[7]) if r[7] else None,
                int(r[8]),
            )
            for r in rows
        ]

    def pending(self, through: date | None = None) -> list[BookedRequest]:
        """Requests awaiting a result (made by ``through``, if given), in id order."""
        if through is None:
            return self._select("status = ?", [PENDING])
        return self._select("status = ? AND requested_on <= ?", [PENDING, through.isoformat()])

    def find(self, request_id: str) -> BookedRequest | None:
        found = self._select("request_id = ?", [request_id])
        return found[0] if found else None

    def of_day(self, on: date) -> list[BookedRequest]:
        """Requests whose money was taken on ``on``, or made on ``on`` and still awaiting or
        bounced: everything a settlement of that day may list."""
        day = on.isoformat()
        return self._select("(taken_on = ?) OR (requested_on = ? AND taken_on IS NULL)", [day, day])
