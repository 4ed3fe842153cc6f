"""Tamper evidence: every loan event carries a hash chained to the loan's previous event.

``chain(v) = sha256(chain(v-1) + canonical(event v))`` as hex, with ``chain(0) = ""``.
``canonical`` is the event's type, loan id, version and its own fields (amounts as their exact
decimal strings, dates ISO, keys sorted), not the recorded time. Changing any amount, date or
field of a stored event, or removing or reordering events, breaks every later link:
``ledger audit verify`` recomputes the chain and names the first event whose link does not
match. Events recorded before the chain existed carry ``chain = ""`` (see
``Loan.Event.upcast_v1_v2``) and are reported as unchained, not as broken.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any
from uuid import UUID

from ledger.domain.money import fraction_text

GENESIS = ""
NOT_HASHED = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "chain"}
)


def plain(value: Any) -> Any:
    """An event value as JSON: amounts as their exact decimal strings, dates ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):  # an exact accrual (a correction's recorded state)
        return fraction_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def canonical(kind: str, loan_id: UUID, version: int, fields: Mapping[str, Any]) -> str:
    body = {k: v for k, v in fields.items() if k not in NOT_HASHED}
    return json.dumps(
        {"type": kind, "loan": str(loan_id), "version": version, "fields": plain(body)},
        sort_keys=True,
        separators=(",", ":"),
    )


def link(previous: str, kind: str, loan_id: UUID, version: int, fields: Mapping[str, Any]) -> str:
    text = previous + canonical(kind, loan_id, version, fields)
    return hashlib.sha256(text.encode()).hexdigest()


def unchained_count(events: Iterable[Any]) -> int:
    """How many of the loan's first events were recorded before the chain existed (their
    ``chain`` is empty): they are not covered by the chain, and are reported as such."""
    count = 0
    for event in events:
        if getattr(event, "chain", GENESIS) != GENESIS:
            break
        count += 1
    return count


def chain_summary(unchained: int, events: int) -> str:
    """The chain's state in words, as ``verify`` and the report say it."""
    if unchained == 0:
        return "intact"
    if unchained >= events:
        return f"none of the {events} events is chained (all recorded before the hash chain)"
    return (
        f"intact from version {unchained + 1}; versions 1 to {unchained} were recorded "
        "before the hash chain and are unchained"
    )


def first_broken_link(events: Iterable[Any]) -> tuple[int, str] | None:
    """The version of the first event whose stored chain does not match its recomputed one,
    with the reason; ``None`` when the chain holds. Legacy (unchained) events are skipped
    while the chain has not started."""
    previous = GENESIS
    expected_version = 1
    for event in events:
        version = int(event.originator_version)
        if version != expected_version:
            return version, f"version {version} follows version {expected_version - 1}"
        expected_version += 1
        stored = getattr(event, "chain", GENESIS)
        if stored == GENESIS and previous == GENESIS:
            continue  # recorded before tamper evidence existed
        recomputed = link(previous, type(event).__name__, event.originator_id, version, vars(event))
        if stored != recomputed:
            return version, (
                f"stored hash {stored[:12] or '(none)'}... != recomputed {recomputed[:12]}..."
            )
        previous = stored
    return None
