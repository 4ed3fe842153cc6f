"""Auditing a loan: explain a balance, time travel, verify by replay, what-if.

Thin application services over the store: they load a loan's events and hand them to the
domain (:mod:`ledger.domain.replay`, :mod:`ledger.domain.chain`) or read them line by line to
show where every figure of a balance came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.adapters.checkpoints import Anchor
from ledger.domain.chain import (
    chain_summary,
    first_broken_link,
    unchained_count,
    unkeyed_count,
)
from ledger.domain.charges import PARTS, charges
from ledger.domain.errors import CommandRefused, NotFound, Quarantined
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.replay import (
    Discrepancy,
    credit_rules_of,
    facts_of,
    replay,
    run_facts,
    terms_of,
)
from ledger.services import integrity
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from ledger.services.store import loan_id_for

VERIFY_PAGE = 50  # loans verified per read: a page of 1-year loans is ~20,000 events in memory
WHAT_IF_TERMS = (
    "daily_rate",
    "annual_rate",
    "day_count",
    "method",
    "prepayment_fee_rate",
    "penalty_multiplier",
    "compound_multiplier",
    "fee_rate_per_period",
    "remaining_fees",
    "grace_days",
    "installment_multiple",
    "rounding",
    "first_due_date",
    "interest_method",
)


# --------------------------------------------------------------------------- time travel


def events_until(app: LedgerApp, loan_id: UUID, *, known_at: datetime | None = None) -> list[Any]:
    """The loan's events recorded by ``known_at`` (all of them without it)."""
    result = []
    event: Any
    for event in app.events.get(loan_id):
        if known_at is not None and event.timestamp > known_at:
            break
        result.append(event)
    return result


def loan_at(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> Loan:
    """The loan at the end of business day ``as_of`` as the ledger knew it at ``known_at``
    (either may be omitted)."""
    return history_at(app, reference, as_of=as_of, known_at=known_at)[0]


def history_at(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> tuple[Loan, list[Any], bool]:
    """The loan, the events that built it, and whether they were recomputed from corrected
    facts (a correction known at ``known_at`` changes the past of business time)."""
    loan = app.get_loan(reference)
    known: list[Any] = events_until(app, loan.id, known_at=known_at)
    if not known:
        raise CommandRefused(
            f"loan {loan.label}: nothing was recorded by {known_at} "
            f"(its first event was recorded at {_first_recorded(app, loan.id)})"
        )
    if any(isinstance(e, Loan.Corrected) for e in known):
        if as_of is not None:
            _check_as_of(loan, as_of)
        run = run_facts(known[0], facts_of(known), until=as_of, credit_rules=credit_rules_of(known))
        return run.loan, run.events, True
    if as_of is None and known_at is None:
        return loan, known, False
    if as_of is not None:
        _check_as_of(loan, as_of)
        known = [e for e in known if e.on <= as_of]
    past: Any = app.repository.get(loan.id, version=known[-1].originator_version)
    assert isinstance(past, Loan)
    return past, known, False


def _check_as_of(loan: Loan, as_of: date) -> None:
    if as_of < loan.terms.disbursed_on:
        raise CommandRefused(
            f"loan {loan.label}: {as_of} is before its disbursement on {loan.terms.disbursed_on}"
        )
    if as_of > loan.closed_through and not loan.is_closed:
        raise CommandRefused(
            f"loan {loan.label}: business day {as_of} is not closed yet "
            f"(closed through {loan.closed_through}); run close-day --through {as_of}"
        )


def _first_recorded(app: LedgerApp, loan_id: UUID) -> str:
    first: Any = next(iter(app.events.get(loan_id)))
    return str(first.timestamp.isoformat())


# --------------------------------------------------------------------------- verify


@dataclass
class Verification:
    loan_id: UUID
    label: str
    events: int
    discrepancies: list[Discrepancy] = field(default_factory=list)
    broken_link: tuple[int, str] | None = None
    unchained: int = 0  # leading events recorded before the hash chain existed
    unkeyed: int = 0  # events chained with an unkeyed sha256, before chain keys existed
    integrity: list[str] = field(default_factory=list)  # anchored head, snapshot

    @property
    def clean(self) -> bool:
        return not self.discrepancies and self.broken_link is None and not self.integrity

    @property
    def tampered(self) -> bool:
        """The chain, the anchored head or a snapshot failed: what quarantines the loan."""
        return self.broken_link is not None or bool(self.integrity)

    def as_dict(self) -> dict[str, Any]:
        return {
            "loan_id": self.label,
            "uuid": str(self.loan_id),
            "events": self.events,
            "clean": self.clean,
            "unchained_events": self.unchained,
            "unkeyed_events": self.unkeyed,
            "hash_chain": (
                chain_summary(self.unchained, self.events)
                if self.broken_link is None
                else {"first_broken_version": self.broken_link[0], "why": self.broken_link[1]}
            ),
            "integrity": self.integrity,
            "discrepancies": [d.as_dict() for d in self.discrepancies],
        }


def verify_events(
    loan_id: UUID,
    label: str,
    events: Sequence[Any],
    integrity_problems: Sequence[str] = (),
) -> Verification:
    result = Verification(loan_id, label, len(events), integrity=list(integrity_problems))
    result.broken_link = first_broken_link(events)
    result.unchained = unchained_count(events)
    result.unkeyed = unkeyed_count(events)
    try:
        result.discrepancies = replay(events).discrepancies
    except Exception as error:  # a history the rules cannot even start to replay
        result.discrepancies = [Discrepancy(1, "Disbursed", "replay", "", repr(error))]
    return result


def _verified(
    app: LedgerApp,
    loan_id: UUID,
    label: str,
    events: list[Any],
    anchor: Anchor | None,
    snapshot: Any | None,
) -> Verification:
    """Replay, chain, anchored head and newest snapshot of one loan; a loan that fails the
    chain, its anchor or its snapshot is quarantined (no new events until released)."""
    anchored = integrity.anchor_problem(anchor, events)
    found = ([anchored] if anchored else []) + integrity.snapshot_problems(snapshot, events)
    result = verify_events(loan_id, label, events, found)
    if result.tampered:
        broken = result.broken_link
        why = found[0] if found or broken is None else f"event {broken[0]}: {broken[1]}"
        integrity.quarantine(app, loan_id, label, len(events), why)
    return result


def verify_loan(app: LedgerApp, reference: str) -> Verification:
    """One loan, named by its reference or id: its events read once, in one query (not
    loaded as a loan first: verify checks them from the first, the snapshot included)."""
    loan_id = loan_id_for(reference)
    try:
        events = app.reader.events_of([loan_id])[loan_id]
    except Exception as error:  # an event that cannot be read, as ``get_loan`` says it
        raise Quarantined(
            f"loan {reference} cannot be read from its events "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
        ) from None
    if not events or not isinstance(events[0], Loan.Disbursed):
        raise NotFound(f"unknown loan {reference}")
    label = events[0].reference or str(loan_id)
    anchor = app.checkpoints.anchor_of(loan_id)
    snapshot = app.reader.latest_snapshots([loan_id]).get(loan_id)
    return _verified(app, loan_id, label, events, anchor, snapshot)


def verify_all(
    app: LedgerApp,
    *,
    partition: int = 0,
    partitions: int = 1,
    page: int = VERIFY_PAGE,
    catch_up: bool = True,
) -> Iterator[Verification]:
    """Every loan of the book (or of one partition: loan id mod ``partitions``), in loan id
    order, streamed: ``page`` loans at a time are read (their ids from the loan directory, then
    one query for their events, one for their snapshots and one for their anchors) and
    verified, so memory holds one page, whatever the size of the book."""
    if catch_up:
        app.directory.catch_up()
    after = ""
    while batch := app.directory.loan_ids_page(
        after=after, limit=page, partition=partition, partitions=partitions
    ):
        after = str(batch[-1])
        anchors = app.checkpoints.anchors_of(batch)
        snapshots = app.reader.latest_snapshots(batch)
        for loan_id, events in app.reader.events_of(batch).items():
            found = (anchors.get(loan_id), snapshots.get(loan_id))
            if not events:  # listed by the directory, every event gone
                yield _vanished(app, loan_id, found[0])
                continue
            label = getattr(events[0], "reference", None) or str(loan_id)
            yield _verified(app, loan_id, label, events, *found)
        del anchors, snapshots


def _vanished(app: LedgerApp, loan_id: UUID, anchor: Anchor | None) -> Verification:
    """A loan the directory lists whose events are all gone: tampered, and quarantined."""
    why = integrity.anchor_problem(anchor, []) or "the loan directory lists it, it has no events"
    integrity.quarantine(app, loan_id, None, 0, why)
    return Verification(loan_id, str(loan_id), 0, integrity=[why])


# --------------------------------------------------------------------------- what-if


def what_if(app: LedgerApp, reference: str, settings: dict[str, str]) -> dict[str, Any]:
    """Replay the loan's facts under other terms; charged vs would-have-been, per installment
    and in total. Nothing is written."""
    unknown = sorted(set(settings) - set(WHAT_IF_TERMS))
    if unknown:
        raise CommandRefused(
            f"--set {unknown[0]}: not a term that can be changed "
            f"(one of: {', '.join(WHAT_IF_TERMS)})"
        )
    loan = app.get_loan(reference)
    events = list(app.events.get(loan.id))
    own = terms_of(events[0])
    fields: dict[str, Any] = {**own.as_event_fields(), **settings}
    if "annual_rate" in settings and "daily_rate" not in settings:
        fields["daily_rate"] = None
    if "daily_rate" in settings and "annual_rate" not in settings:
        fields["annual_rate"] = None
        fields["day_count"] = None
    if own.charges_handling_fee and "daily_rate" not in settings:  # section 13: 0 by product
        fields["daily_rate"] = None
    del fields["arithmetic"]  # the loan's own (section 4), not an input
    other = replace(
        terms_from_input(**{k: v for k, v in fields.items() if v not in ("", None)}),
        arithmetic=own.arithmetic,
    )
    facts, rules = facts_of(events), credit_rules_of(events)
    actual = run_facts(events[0], facts, terms=own, credit_rules=rules)
    alternative = run_facts(events[0], facts, terms=other, credit_rules=rules)
    a_rows, a_total = charges(actual.loan, actual.events)
    b_rows, b_total = charges(alternative.loan, alternative.events)
    ks = sorted(set(a_rows) | set(b_rows))
    return {
        "loan_id": loan.label,
        "changed": {k: str(v) for k, v in settings.items()},
        "installments": [
            {
                "k": k,
                "charged": _shown(a_rows.get(k)),
                "would_have_been": _shown(b_rows.get(k)),
                "difference": fmt(
                    _total(b_rows.get(k)) - _total(a_rows.get(k)),
                ),
            }
            for k in ks
        ],
        "total": {
            "charged": _shown(a_total),
            "would_have_been": _shown(b_total),
            "difference": fmt(_total(b_total) - _total(a_total)),
        },
        "notes": alternative.notes,
        "refund_due": fmt(alternative.refund_due),
    }


def charged(events: Sequence[Any]) -> tuple[dict[int, dict[str, Decimal]], dict[str, Decimal]]:
    """What the loan charged, from the history its facts give under its own terms (the same
    replay what-if compares against): :func:`ledger.domain.charges.charges`."""
    own, rules = terms_of(events[0]), credit_rules_of(events)
    actual = run_facts(events[0], facts_of(events), terms=own, credit_rules=rules)
    return charges(actual.loan, actual.events)


def _total(row: dict[str, Decimal] | None) -> Decimal:
    return sum(row.values(), ZERO) if row else ZERO


def _shown(row: dict[str, Decimal] | None) -> dict[str, str]:
    row = row or {p: ZERO for p in PARTS}
    return {**{p: fmt(row[p]) for p in PARTS}, "total": fmt(_total(row))}
