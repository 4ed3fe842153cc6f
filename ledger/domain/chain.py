"""Tamper evidence: every loan event carries a seal chained to the loan's previous event.

``chain(v) = seal(chain(v-1) + canonical(event v))`` with ``chain(0) = ""``, where ``seal`` is
a keyed HMAC-SHA256 (:mod:`ledger.domain.seal`): ``"k1:<hex>"``. Without the key, nobody
can recompute a link, even with write access to the database. Events chained before keys
existed carry an unkeyed ``sha256`` (64 hex digits, no key id): they are counted as
*unkeyed*, and accepted only before the loan's first keyed link.
``canonical`` is the event's type, loan id, version and its own fields (amounts as their exact
decimal strings, dates ISO, keys sorted), not the recorded time. Changing any amount, date or
field of a stored event, or removing or reordering events, breaks every later link:
``ledger audit verify`` recomputes the chain and names the first event whose link does not
match. Events recorded before the chain existed carry ``chain = ""`` (see
``Loan.Event.upcast_v1_v2``) and are reported as unchained, not as broken.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any
from uuid import UUID

from ledger.domain.money import fraction_text
from ledger.domain.seal import Keyring, installed_keyring, is_sealed, unkeyed

GENESIS = ""
NOT_HASHED = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "chain"}
)


def plain(value: Any) -> Any:
    """A value of an event or a snapshot as JSON: amounts as their exact decimal strings,
    dates ISO."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:  # as they are (common)
        return value
    if kind is Decimal:  # the common containers and amounts by their exact type first
        return str(value)
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
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
    if hasattr(value, "as_event_fields"):  # terms (snapshots): as an event writes them
        return plain(value.as_event_fields())
    if is_dataclass(value) and not isinstance(value, type):  # installments (snapshots)
        if hasattr(value, "as_dict"):  # its own fields as it keeps them (Installment.as_dict)
            return plain(value.as_dict())
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# what ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` builds on every call, made once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical(kind: str, loan_id: UUID, version: int, fields: Mapping[str, Any]) -> str:
    """The text an event's link seals: its type, loan, version and own fields as JSON with
    sorted keys and no spaces (``json.dumps(..., sort_keys=True, separators=(",", ":"))``)."""
    body = {k: plain(v) for k, v in fields.items() if k not in NOT_HASHED}
    return _CANONICAL.encode(
        {"type": kind, "loan": str(loan_id), "version": version, "fields": body}
    )


_UNLINKED: ContextVar[bool] = ContextVar("ledger_chain_unlinked", default=False)


@contextmanager
def unlinked() -> Iterator[None]:
    """Events a loan records inside carry no link (``GENESIS``). For the loan a replay drives
    (:func:`ledger.domain.replay.replay`) only: its events are compared field by field with
    the recorded ones, the link excepted (``NOT_HASHED``), and never saved, so sealing them
    would cost a canonical text and an HMAC an event for nothing. The recorded events' own
    links are what verify checks (:func:`first_broken_link`). A context variable, so another
    thread recording live events is not affected."""
    token = _UNLINKED.set(True)
    try:
        yield
    finally:
        _UNLINKED.reset(token)


def link(previous: str, kind: str, loan_id: UUID, version: int, fields: Mapping[str, Any]) -> str:
    """The chain value of an event: sealed with the installed keyring (unkeyed without one,
    as in a unit test of the domain alone); none inside :func:`unlinked`."""
    if _UNLINKED.get():
        return GENESIS
    text = previous + canonical(kind, loan_id, version, fields)
    keyring = installed_keyring()
    return keyring.seal(text) if keyring is not None else unkeyed(text)


def unkeyed_count(events: Iterable[Any]) -> int:
    """How many chained events carry an unkeyed sha256 (chained before keys existed)."""
    return sum(1 for e in events if getattr(e, "chain", GENESIS) and not is_sealed(e.chain))


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


def first_broken_link(
    events: Iterable[Any], keyring: Keyring | None = None
) -> tuple[int, str] | None:
    """The version of the first event whose stored link does not check, with the reason;
    ``None`` when the chain holds. Unchained events are skipped while the chain has not
    started; unkeyed links are checked as sha256 only before the loan's first keyed link."""
    return broken_link_after(GENESIS, 0, events, keyring)


def broken_link_after(
    previous: str, version: int, events: Iterable[Any], keyring: Keyring | None = None
) -> tuple[int, str] | None:
    """:func:`first_broken_link` for the events after ``version``, whose chain value was
    ``previous`` (a sealed snapshot's head): what a load checks before it trusts them."""
    keyring = keyring or installed_keyring()
    expected_version = version + 1
    keyed = is_sealed(previous)
    for event in events:
        version = int(event.originator_version)
        if version != expected_version:
            return version, f"version {version} follows version {expected_version - 1}"
        expected_version += 1
        stored = getattr(event, "chain", GENESIS)
        if stored == GENESIS and previous == GENESIS:
            continue  # recorded before tamper evidence existed
        why = _link_problem(previous, event, stored, keyed, keyring)
        if why is not None:
            return version, why
        keyed = keyed or is_sealed(stored)
        previous = stored
    return None


# What class-version upcasts give events read from older versions (``Loan.Event.upcast_v2_v3``:
# ``recorded_by`` ""; ``InterestAccrued.upcast_v3_v4``: ``divisor`` 1;
# ``Disbursed.upcast_v3_v4``: ``terms.arithmetic`` "decimal28"; ``Corrected.upcast_v3_v4``:
# ``credit_rules`` false; its ``upcast_v4_v5``: ``waivers_not_reproduced`` []). An event sealed
# before its class gained them was sealed without them.
ADDED_IN_VERSION_4 = {"divisor": 1, "credit_rules": False, "waivers_not_reproduced": []}
ADDED_TO_TERMS_IN_VERSION_4 = {"arithmetic": "decimal28"}
ADDED_IN_VERSION_3 = {"recorded_by": ""}


def _without(fields: Mapping[str, Any], added: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not (k in added and plain(v) == added[k])}


def sealed_forms(fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The event's fields as they are, as version 3 of its class sealed them and as version 2
    did: without each field an upcast added, where it holds the value the upcast gives. A link
    that checks against any form holds (none can be sealed without the key; an amount changed
    in the store breaks every form)."""
    version_3 = _without(fields, ADDED_IN_VERSION_4)
    if "terms" in version_3:
        version_3["terms"] = _without(plain(version_3["terms"]), ADDED_TO_TERMS_IN_VERSION_4)
    return [fields, version_3, _without(version_3, ADDED_IN_VERSION_3)]


def _link_problem(
    previous: str, event: Any, stored: str, keyed: bool, keyring: Keyring | None
) -> str | None:
    """Why the event's stored link does not check, or ``None``. The event as it reads now is
    tried first; only a link that fails it is tried against the forms older class versions
    sealed (:func:`sealed_forms`), so an honest chain costs one canonical text an event."""
    kind, loan_id, version = type(event).__name__, event.originator_id, event.originator_version
    fields = vars(event)

    def text_of(form: Mapping[str, Any]) -> str:
        return previous + canonical(kind, loan_id, int(version), form)

    def older_texts() -> Iterator[str]:
        return (text_of(f) for f in sealed_forms(fields)[1:] if f != fields)

    text = text_of(fields)
    if is_sealed(stored):
        if keyring is None:
            return "no chain key is configured to check its seal"
        problem = keyring.problem(text, stored)
        if problem is None or any(keyring.problem(t, stored) is None for t in older_texts()):
            return None
        return problem
    if keyed:
        return "an unkeyed link after keyed ones (the chain was recomputed without the key)"
    if stored == unkeyed(text) or any(stored == unkeyed(t) for t in older_texts()):
        return None
    return f"stored hash {stored[:12] or '(none)'}... != recomputed {unkeyed(text)[:12]}..."
