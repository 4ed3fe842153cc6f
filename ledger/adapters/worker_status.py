"""What each worker did last: one row per partition, for ``ledger status``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.adapters.sql import Sql


@dataclass(frozen=True)
class PassRecord:
    partition: int
    partitions: int
    kind: str  # "end_of_day" or "morning"
    business_date: date
    loans: int
    events: int
    seconds: float
    failures: list[dict[str, str]]
    finished_at: datetime


class WorkerStatusStore:
    def __init__(self, app: Any) -> None:
        self.sql = Sql(app)
        self.table = self.sql.table("ledger_worker_status")
        with self.sql.transaction() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (partition INTEGER NOT NULL, "
                "partitions INTEGER NOT NULL, kind TEXT NOT NULL, business_date TEXT NOT NULL, "
                "loans INTEGER NOT NULL, events INTEGER NOT NULL, seconds REAL NOT NULL, "
                "failures TEXT NOT NULL, finished_at TEXT NOT NULL, "
                "PRIMARY KEY (partition, partitions))"
            )

    def record(self, r: PassRecord) -> None:
        with self.sql.transaction() as c:
            c.execute(
                f"INSERT INTO {self.table} (partition, partitions, kind, business_date, loans, "
                "events, seconds, failures, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (partition, partitions) DO UPDATE SET kind = excluded.kind, "
                "business_date = excluded.business_date, loans = excluded.loans, "
                "events = excluded.events, seconds = excluded.seconds, "
                "failures = excluded.failures, finished_at = excluded.finished_at",
                [
                    r.partition,
                    r.partitions,
                    r.kind,
                    r.business_date.isoformat(),
                    r.loans,
                    r.events,
                    r.seconds,
                    json.dumps(r.failures),
                    r.finished_at.isoformat(),
                ],
            )

    def all(self) -> list[PassRecord]:
        rows = self.sql.query(
            "SELECT partition, partitions, kind, business_date, loans, events, seconds, "
            f"failures, finished_at FROM {self.table} ORDER BY partitions, partition"
        )
        return [
            PassRecord(
                partition=int(r[0]),
                partitions=int(r[1]),
                kind=str(r[2]),
                business_date=date.fromisoformat(str(r[3])),
                loans=int(r[4]),
                events=int(r[5]),
                seconds=float(r[6]),
                failures=json.loads(str(r[7])),
                finished_at=datetime.fromisoformat(str(r[8])),
            )
            for r in rows
        ]
