"""Daily checkpoints: every loan's chain head, anchored and sealed (issue 12).

``ledger_anchors`` holds, per loan, the newest version and chain value a checkpoint saw.
``ledger_checkpoints`` holds one row per checkpoint::

    seal(n) = seal(previous seal + "|" + n + "|" + day + "|" + position + "|" + loans + "|"
                   + heads digest)

where the heads digest is sha256 over the sorted lines ``"<loan id> <version> <chain>"`` of
every anchor, ``position`` is the notification log position read up to, and ``seal`` is the
keyed HMAC of :mod:`ledger.domain.seal`. So a loan whose newest events were deleted no longer
reaches its anchored version, an anchor that was edited no longer matches the digest, and a
checkpoint that was edited or dropped breaks the chain of checkpoints; none of it can be
resealed without the key. ``ledger audit checkpoint export`` writes the rows out, so an
auditor can keep a copy outside the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError

from ledger.adapters.sql import Cursor, Sql, snapshot
from ledger.domain.seal import Keyring

CHECKPOINTS = "ledger_checkpoints"
ANCHORS = "ledger_anchors"
LOAN_TOPIC = "ledger.domain.loan:Loan."
PAGE = 5000
COLUMNS = "seq, day, position, loans, heads_digest, previous, seal, taken_at"
HEADS = "SELECT loan_id, version, chain"


def _digest(rows: Iterable[tuple[Any, ...]]) -> tuple[int, str]:
    """How many anchors, and the sha256 of their sorted lines ``"<loan id> <version>
    <chain>"`` (hashed line by line: the same digest as of all the lines at once)."""
    digest, loans = hashlib.sha256(), 0
    for r in rows:
        digest.update(f"{r[0]} {int(r[1])} {r[2]}\n".encode())
        loans += 1
    return loans, digest.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    day: str
    position: int
    loans: int
    heads_digest: str
    previous: str
    seal: str
    taken_at: str

    def text(self) -> str:
        """What the seal covers."""
        fields = (self.previous, self.seq, self.day, self.position, self.loans, self.heads_digest)
        return "|".join(str(f) for f in fields)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Anchor:
    version: int
    chain: str
    seq: int


class Checkpoints:
    """The two tables, on the application's own database."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sql = Sql(app)
        self.t = self.sql.table(CHECKPOINTS)
        self.a = self.sql.table(ANCHORS)
        with self.sql.transaction() as c:  # the store's start-up lock is held already
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t} (seq BIGINT PRIMARY KEY, day TEXT NOT NULL, "
                "position BIGINT NOT NULL, loans BIGINT NOT NULL, heads_digest TEXT NOT NULL, "
                "previous TEXT NOT NULL, seal TEXT NOT NULL, taken_at TEXT NOT NULL)"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.a} (loan_id TEXT PRIMARY KEY, "
                "version BIGINT NOT NULL, chain TEXT NOT NULL, seq BIGINT NOT NULL)"
            )

    # ------------------------------------------------------------------ reading

    def all(self) -> list[Checkpoint]:
        rows = self.sql.query(f"SELECT {COLUMNS} FROM {self.t} ORDER BY seq")
        return [_checkpoint(r) for r in rows]

    def latest(self) -> Checkpoint | None:
        rows = self.sql.query(f"SELECT {COLUMNS} FROM {self.t} ORDER BY seq DESC LIMIT 1")
        return _checkpoint(rows[0]) if rows else None

    def anchors(self) -> dict[UUID, Anchor]:
        rows = self.sql.query(f"SELECT loan_id, version, chain, seq FROM {self.a}")
        return {UUID(r[0]): Anchor(int(r[1]), str(r[2]), int(r[3])) for r in rows}

    def anchors_of(self, loan_ids: Sequence[UUID]) -> dict[UUID, Anchor]:
        """The anchors of these loans (those that have one), in one query."""
        if not loan_ids:
            return {}
        marks = ",".join("?" * len(loan_ids))
        rows = self.sql.query(
            f"SELECT loan_id, version, chain, seq FROM {self.a} WHERE loan_id IN ({marks})",
            [str(i) for i in loan_ids],
        )
        return {UUID(r[0]): Anchor(int(r[1]), str(r[2]), int(r[3])) for r in rows}

    def anchor_of(self, loan_id: UUID) -> Anchor | None:
        rows = self.sql.query(
            f"SELECT version, chain, seq FROM {self.a} WHERE loan_id = ?", [str(loan_id)]
        )
        return Anchor(int(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None

    # ------------------------------------------------------------------ taking one

    def take(self, day: date, keyring: Keyring) -> Checkpoint | None:
        """Anchor every loan's newest head read from the log since the last checkpoint and
        seal a new checkpoint; ``None`` if another process took the same one first."""
        last = self.latest()
        start = last.position + 1 if last else 1
        heads, position = self._heads_since(start)
        position = max(position, last.position if last else 0)
        seq = (last.seq if last else 0) + 1
        try:
            with self.sql.transaction() as c:
                c.upsert_rows(  # in loan id order; one statement on PostgreSQL
                    self.a,
                    (
                        ("loan_id", "text"),
                        ("version", "bigint"),
                        ("chain", "text"),
                        ("seq", "bigint"),
                    ),
                    "loan_id",
                    sorted((str(i), v, h, seq) for i, (v, h) in heads.items()),
                )
                loans, digest = self._digest(c)
                draft = Checkpoint(
                    seq, day.isoformat(), position, loans, digest,
                    last.seal if last else "", "", datetime.now(UTC).isoformat(),
                )  # fmt: skip
                made = Checkpoint(**{**draft.as_dict(), "seal": keyring.seal(draft.text())})
                c.execute(
                    f"INSERT INTO {self.t} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    list(made.as_dict().values()),
                )
        except IntegrityError:  # another process's checkpoint took this sequence number
            return None
        return made

    def heads_digest(self) -> tuple[int, str]:
        """The digest of the anchors as they stand, read a page at a time (a verify of the
        whole book checks it: memory does not grow with the book)."""
        with snapshot(self.sql) as s:
            return _digest(s.stream(f"{HEADS} FROM {self.a} ORDER BY loan_id"))

    def _digest(self, c: Cursor) -> tuple[int, str]:
        c.execute(f"{HEADS} FROM {self.a} ORDER BY loan_id")
        return _digest(c.fetchall())

    def _heads_since(self, start: int) -> tuple[dict[UUID, tuple[int, str]], int]:
        """Each loan's newest (version, chain) among the log's notifications from ``start``."""
        heads: dict[UUID, tuple[int, str]] = {}
        position = start - 1
        recorder = self.app.recorder
        while True:
            page = recorder.select_notifications(start=position + 1, limit=PAGE)
            for n in page:
                position = n.id
                if n.topic.startswith(LOAN_TOPIC):
                    try:
                        chain = str(orjson.loads(bytes(n.state)).get("chain", ""))
                    except (ValueError, AttributeError):
                        continue  # unreadable: the loan is quarantined by its readers
                    version = int(n.originator_version)
                    if n.originator_id not in heads or heads[n.originator_id][0] < version:
                        heads[n.originator_id] = (version, chain)
            if len(page) < PAGE:
                return heads, position


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    seq, day, position, loans, digest, previous, seal, taken_at = row
    return Checkpoint(
        int(seq), str(day), int(position), int(loans), str(digest), str(previous), str(seal),
        str(taken_at),
    )  # fmt: skip
