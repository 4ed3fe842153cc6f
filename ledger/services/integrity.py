"""Integrity checks beyond one loan's replay (issue 12): daily checkpoints of every loan's
chain head, their export, the check of a loan's events against its anchored head, and the
quarantine of a loan that fails a check (no new events until an operator releases it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from ledger.adapters.checkpoints import Anchor, Checkpoint, Checkpoints
from ledger.adapters.quarantine import INTEGRITY, Failure, Quarantine
from ledger.adapters.snapshots import snapshot_problem
from ledger.adapters.sql import Sql
from ledger.domain.chain import GENESIS, broken_link_after
from ledger.domain.errors import InvalidInput, Quarantined
from ledger.domain.loan import Loan
from ledger.domain.seal import Keyring, installed_keyring
from ledger.domain.state import LoanState


def keyring() -> Keyring:
    found = installed_keyring()
    if found is None:  # the application installs it when it opens the store
        raise RuntimeError("no chain keyring installed")
    return found


def take_checkpoint(app: Any, day: date) -> Checkpoint | None:
    """Anchor every loan's chain head as of the end of ``day`` and seal a checkpoint."""
    checkpoints: Checkpoints = app.checkpoints
    return checkpoints.take(day, keyring())


def checkpoint_problems(app: Any) -> list[str]:
    """What is wrong with the chain of checkpoints and the anchors: a seal that does not
    check, a checkpoint missing or out of order, anchors that no longer match the newest
    checkpoint's digest."""
    checkpoints: Checkpoints = app.checkpoints
    problems: list[str] = []
    previous, last_seq = "", 0
    rows = checkpoints.all()
    for c in rows:
        if c.seq != last_seq + 1:
            problems.append(f"checkpoint {c.seq} follows checkpoint {last_seq}")
        if c.previous != previous:
            problems.append(f"checkpoint {c.seq} does not chain to the one before it")
        why = keyring().problem(c.text(), c.seal)
        if why is not None:
            problems.append(f"checkpoint {c.seq} ({c.day}): {why}")
        previous, last_seq = c.seal, c.seq
    if rows:
        loans, digest = checkpoints.heads_digest()
        if (loans, digest) != (rows[-1].loans, rows[-1].heads_digest):
            problems.append(
                f"the anchors ({loans} loans) do not match checkpoint {rows[-1].seq} "
                f"({rows[-1].loans} loans): an anchor was added, removed or edited"
            )
    return problems


def anchor_problem(anchor: Anchor | None, events: Sequence[Any]) -> str | None:
    """Why the loan's events do not reach or do not match its anchored head, if they don't."""
    if anchor is None:
        return None
    newest = int(events[-1].originator_version) if events else 0
    if newest < anchor.version:
        return (
            f"its events end at version {newest}, before version {anchor.version} anchored "
            f"by checkpoint {anchor.seq}: events were removed"
        )
    if getattr(events[anchor.version - 1], "chain", "") != anchor.chain:
        return f"event {anchor.version} is not the one checkpoint {anchor.seq} anchored"
    return None


def export_lines(app: Any) -> list[str]:
    """Every checkpoint as one JSON line, for a copy kept outside the database."""
    checkpoints: Checkpoints = app.checkpoints
    return [json.dumps(c.as_dict(), sort_keys=True) for c in checkpoints.all()]


def compare_with_copy(app: Any, lines: Sequence[str]) -> list[str]:
    """Differences between an exported copy and the checkpoints in the store."""
    checkpoints: Checkpoints = app.checkpoints
    stored = {c.seq: c.as_dict() for c in checkpoints.all()}
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            kept = json.loads(line)
            seq = int(kept["seq"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f"line {number} of the copy is not an exported checkpoint") from None
        if seq not in stored:
            problems.append(f"checkpoint {seq} of the copy is missing from the store")
        elif stored[seq] != kept:
            changed = sorted(k for k in kept if stored[seq].get(k) != kept[k])
            problems.append(f"checkpoint {seq} differs from the copy in {', '.join(changed)}")
    return problems


# --------------------------------------------------------------------------- quarantine


def quarantine(app: Any, loan_id: UUID, reference: str | None, version: int, why: str) -> None:
    """Set the loan apart from the write side (once; the first reason is kept)."""
    q = Quarantine(Sql(app))
    if q.find(INTEGRITY, loan_id) is not None:
        return
    with q.sql.transaction() as c:
        q.put(c, INTEGRITY, Failure(loan_id, 0, version, "tampered", why[:300]), reference)


def held(app: Any) -> set[UUID]:
    """The loans set apart from the write side."""
    q = Quarantine(Sql(app))
    with q.sql.transaction() as c:
        return q.held(c, INTEGRITY)


def release(app: Any, loan_id: UUID) -> bool:
    """An operator takes the loan back; ``False`` if it was not held."""
    q = Quarantine(Sql(app))
    with q.sql.transaction() as c:
        return q.take(c, INTEGRITY, loan_id) is not None


def watch(app: Any) -> None:
    """Check loans as the store loads them: a sealed snapshot that fails its seal is ignored
    and the loan quarantined; so is a loan whose events after its snapshot break the chain."""

    def bad_snapshot(loan_id: UUID, version: int, why: str) -> None:
        quarantine(app, loan_id, None, version, f"its snapshot at version {version}: {why}")

    def check_events(loan_id: UUID, snapshot: Any | None, events: list[Any]) -> None:
        if not events or not isinstance(events[0], (Loan.Event, Loan.Disbursed)):
            return
        state = snapshot.state if snapshot is not None else {}
        version = int(snapshot.originator_version) if snapshot is not None else 0
        broken = broken_link_after(state.get("chain_head", GENESIS), version, events)
        if broken is not None:
            reference = getattr(events[0], "reference", None) or state.get("reference")
            quarantine(app, loan_id, reference, broken[0], f"event {broken[0]}: {broken[1]}")

    app.reader.on_bad_snapshot = bad_snapshot
    app.reader.on_events = check_events


def refuse_if_held(app: Any, aggregates: Sequence[Any]) -> None:
    """Refuse to write new events of a quarantined loan (the unit of work calls this)."""
    loan_ids = {a.id for a in aggregates if isinstance(a, Loan)}
    blocked = loan_ids & held(app) if loan_ids else set()
    if not blocked:
        return
    found = Quarantine(Sql(app)).find(INTEGRITY, min(blocked))
    name = (found.reference if found else None) or str(min(blocked))
    why = found.error if found else "it failed an integrity check"
    raise Quarantined(
        f"loan {name} is quarantined ({why}); nothing was written: an operator releases it "
        f"with `ledger audit release {name} --reason ...` once it is resolved"
    )


def snapshot_problems(snapshot: Any | None, events: Sequence[Any]) -> list[str]:
    """The loan's newest snapshot, checked: its seal, and its state against the state its
    events give at the same version (verify recomputes it)."""
    if snapshot is None:
        return []
    version = int(snapshot.originator_version)
    why = snapshot_problem(snapshot)
    if why == "unsealed":
        return []  # never trusted, never used: the loan is read from its events
    if why is not None:
        return [f"its snapshot at version {version}: {why}"]
    rebuilt: Any = None
    for event in events[:version]:
        rebuilt = event.mutate(rebuilt)
    kept = snapshot.mutate(None)
    if rebuilt is None or len(events) < version:
        return [f"its snapshot at version {version} is newer than its events"]
    differ = [
        name
        for name in ("chain_head", "terms", "piece_from", *LoanState.DERIVED)
        if getattr(kept, name, None) != getattr(rebuilt, name, None)
    ]
    if kept.installments != rebuilt.installments:
        differ.append("installments")
    if differ:
        return [f"its snapshot at version {version} differs from its events in {', '.join(differ)}"]
    return []
