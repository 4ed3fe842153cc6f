"""Sealed snapshots (issue 12): a snapshot of a loan carries a keyed seal over its state,
version and id, so a snapshot edited in the database is noticed when it is loaded; it is then
ignored (the loan is read from its events) and reported.

A snapshot without a seal (taken before sealing, or written by hand with the library's plain
``Snapshot`` topic) is not trusted either: it is ignored, silently, and the events are read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from ledger.domain.chain import plain
from ledger.domain.seal import installed_keyring

SEAL = "_seal"
BadSnapshot = Callable[[UUID, int, str], None]  # loan id, version, why


def snapshot_text(originator_id: UUID, version: int, topic: str, state: dict[str, Any]) -> str:
    body = {k: v for k, v in state.items() if k != SEAL}
    return json.dumps(
        {"id": str(originator_id), "version": version, "topic": topic, "state": plain(body)},
        sort_keys=True,
        separators=(",", ":"),
    )


class SealedSnapshot(Snapshot):
    """A snapshot whose state carries ``_seal``."""

    @classmethod
    def take(cls, aggregate: Any) -> SealedSnapshot:
        plain = Snapshot.take(aggregate)
        keyring = installed_keyring()
        state = dict(plain.state)
        if keyring is not None:
            text = snapshot_text(plain.originator_id, plain.originator_version, plain.topic, state)
            state[SEAL] = keyring.seal(text)
        return cls(
            originator_id=plain.originator_id,
            originator_version=plain.originator_version,
            timestamp=plain.timestamp,
            topic=plain.topic,
            state=state,
        )

    def mutate(self, _: None) -> Any:
        aggregate = super().mutate(None)
        vars(aggregate).pop(SEAL, None)
        return aggregate


def snapshot_problem(snapshot: Any) -> str | None:
    """Why ``snapshot`` may not be trusted: ``"unsealed"``, or what is wrong with its seal."""
    seal = snapshot.state.get(SEAL) if isinstance(snapshot, SealedSnapshot) else None
    if seal is None:
        return "unsealed"
    keyring = installed_keyring()
    if keyring is None:
        return "no chain key is configured to check its seal"
    text = snapshot_text(
        snapshot.originator_id, snapshot.originator_version, snapshot.topic, snapshot.state
    )
    return keyring.problem(text, seal)


class CheckedSnapshots:
    """The snapshot store as the repository reads it: a snapshot that fails its check is
    left out (so the loan is read from all its events) and reported to ``on_bad``."""

    def __init__(self, store: Any, on_bad: BadSnapshot) -> None:
        self.store = store
        self.on_bad = on_bad

    def get(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for snapshot in self.store.get(*args, **kwargs):
            why = snapshot_problem(snapshot)
            if why is None:
                yield snapshot
            elif why != "unsealed":
                self.on_bad(snapshot.originator_id, snapshot.originator_version, why)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
