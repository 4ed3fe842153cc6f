"""``Idempotency-Key``: a retried command returns its first answer and writes nothing.

The first request with a key claims it (an insert that only one request can win) together
with the fingerprint of its method, path and body; when it has been answered, the answer
(status and JSON body) is stored under the key. A later request with the same key and the same
fingerprint gets that answer back; with another fingerprint, a 409. A request that finds the
key claimed but not yet answered also gets a 409 (retry later).

Keys are bound to the caller (:meth:`IdempotencyStore.scoped`). Once the command's events
are stored the key is never released; before that (the command failed and wrote nothing, or
the store was busy) it is, so a retry runs the command.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ledger.adapters.sql import Sql


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any


class IdempotencyConflict(Exception):
    pass


class IdempotencyStore:
    def __init__(self, app: Any) -> None:
        self.sql = Sql(app)
        self.t = self.sql.table("ledger_idempotency")
        with self.sql.ddl() as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t} (key TEXT PRIMARY KEY, "
                "fingerprint TEXT NOT NULL, status INTEGER, body TEXT)"
            )

    @staticmethod
    def scoped(caller: str, key: str) -> str:
        """The key as stored: bound to the caller, so one caller's key can never fetch
        another caller's stored answer (nor block it)."""
        return hashlib.sha256(caller.encode() + b"\x00" + key.encode()).hexdigest()

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()

    def claim(self, key: str, fingerprint: str) -> Stored | None:
        """``None`` when this request now owns the key; the stored answer when the same
        request was answered before. Raises :class:`IdempotencyConflict` otherwise."""
        with self.sql.transaction() as c:
            won = c.execute(
                f"INSERT INTO {self.t} (key, fingerprint) VALUES (?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                [key, fingerprint],
            )
        if won == 1:
            return None
        rows = self.sql.query(
            f"SELECT fingerprint, status, body FROM {self.t} WHERE key = ?", [key]
        )
        if not rows:
            raise IdempotencyConflict("the key was released meanwhile; retry")
        stored_fingerprint, status, body = rows[0]
        if stored_fingerprint != fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with another request (method, path or body)"
            )
        if status is None:
            raise IdempotencyConflict("a request with this Idempotency-Key is still running")
        return Stored(int(status), json.loads(body))

    def answer(self, key: str, status: int, body: Any) -> None:
        with self.sql.transaction() as c:
            c.execute(
                f"UPDATE {self.t} SET status = ?, body = ? WHERE key = ?",
                [status, json.dumps(body), key],
            )

    def release(self, key: str) -> None:
        with self.sql.transaction() as c:
            c.execute(f"DELETE FROM {self.t} WHERE key = ? AND status IS NULL", [key])
