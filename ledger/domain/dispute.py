"""A dispute case (issue 14, point 1): the borrower's claim about one of a loan's charges,
the findings the ledger itself gave about it, the decision and its remedy, and the closing.

``Dispute`` is an aggregate of its own, linked to a loan by the loan's UUID and reference. Its
events are facts in the past tense, each carrying who (``actor``, and ``recorded_by``: who
asked, as on loan events) and when (the event's timestamp, and ``on``: the business date):

- ``Opened``: the claim: which charge, the amount disputed, the dates concerned, the
  borrower's words, who received it, over which channel and the channel's reference;
- ``FindingAttached``: a finding computed from the ledger when it was attached (verify, a
  what-if, the explain lines of a figure), stored with the case as it was then, so that a
  later change of the loan does not change it;
- ``Decided``: upheld, partly upheld or rejected, with the reasons and the remedy;
- ``Closed``: with a closing note.

The rules: findings and a decision only while the case is open, one decision (there is no
reopening), closing only once decided, and nothing after closing. A refused command raises
:class:`~ledger.domain.errors.CommandRefused` before any event, so nothing is recorded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.actor import current_actor
from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, fmt

DISPUTE_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:dispute")
REFERENCE_PREFIX = "DSP-"
CHARGES = ("fee", "penalty", "interest", "principal", "other")
CHANNELS = ("phone", "branch", "letter", "email", "app", "web", "other")
FINDING_KINDS = ("verify", "what_if", "explain")
OUTCOMES = ("upheld", "partly_upheld", "rejected")
OPEN, DECIDED, CLOSED = "open", "decided", "closed"
STATUSES = (OPEN, DECIDED, CLOSED)


def dispute_id_for(reference: str) -> UUID:
    """A case's UUID from its reference (``DSP-000001``), in a namespace of its own, so a
    case never lands on a loan's id or an internal aggregate's."""
    return uuid5(DISPUTE_NAMESPACE, reference)


def reference_for(number: int) -> str:
    """The reference of the ``number``-th case of a store: ``DSP-000001``."""
    return f"{REFERENCE_PREFIX}{number:06d}"


class Dispute(Aggregate):
    """One dispute case about one loan."""

    class Event(Aggregate.Event):
        actor: str
        recorded_by: str
        on: date

    class Opened(Aggregate.Created):
        reference: str
        loan_id: UUID
        loan_reference: str
        charge: str
        amount: Decimal
        period_from: date
        period_to: date
        claim: str
        received_by: str
        channel: str
        channel_ref: str
        actor: str
        recorded_by: str
        on: date

    class FindingAttached(Event):
        """``result`` is the finding as the ledger gave it (JSON-able), ``subject`` what it
        was asked about (the what-if's terms, the explained figure), ``loan_version`` the
        loan's version it was computed at."""

        kind: str
        note: str
        subject: dict[str, Any]
        loan_version: int
        result: dict[str, Any]

        def apply(self, dispute: Dispute) -> None:
            dispute.findings += 1

    class Decided(Event):
        outcome: str
        reasons: str
        remedy: str
        remedy_amount: Decimal | None

        def apply(self, dispute: Dispute) -> None:
            dispute.status = DECIDED
            dispute.outcome = self.outcome

    class Closed(Event):
        note: str

        def apply(self, dispute: Dispute) -> None:
            dispute.status = CLOSED

    def __init__(
        self,
        reference: str,
        loan_id: UUID,
        loan_reference: str,
        charge: str,
        amount: Decimal,
        period_from: date,
        period_to: date,
        claim: str,
        received_by: str,
        channel: str,
        channel_ref: str,
        actor: str,
        recorded_by: str,
        on: date,
    ) -> None:
        self.reference = reference
        self.loan_id = loan_id
        self.loan_reference = loan_reference
        self.charge = charge
        self.amount = amount
        self.period = (period_from, period_to)
        self.status = OPEN
        self.outcome: str | None = None
        self.findings = 0

    # ------------------------------------------------------------------ commands

    @classmethod
    def open(
        cls,
        reference: str,
        *,
        loan_id: UUID,
        loan_reference: str,
        charge: str,
        amount: Decimal,
        period: tuple[date, date],
        claim: str,
        received_by: str,
        channel: str,
        channel_ref: str,
        actor: str,
        on: date,
    ) -> Dispute:
        """A new case; refused for an unknown charge or channel, an amount that is not
        positive, dates the wrong way round, or blank text."""
        _one_of(charge, CHARGES, "charge")
        _one_of(channel, CHANNELS, "channel")
        if amount <= ZERO:
            raise CommandRefused(f"amount: the amount disputed must be positive, got {fmt(amount)}")
        if period[0] > period[1]:
            raise CommandRefused(f"dates: from {period[0]} is after to {period[1]}")
        for what, text in (("claim", claim), ("received by", received_by), ("actor", actor)):
            _said(text, what)
        return cls._create(
            cls.Opened,
            id=dispute_id_for(reference),
            reference=reference,
            loan_id=loan_id,
            loan_reference=loan_reference,
            charge=charge,
            amount=amount,
            period_from=period[0],
            period_to=period[1],
            claim=claim,
            received_by=received_by,
            channel=channel,
            channel_ref=channel_ref,
            actor=actor,
            recorded_by=current_actor(),
            on=on,
        )

    def attach(
        self,
        kind: str,
        *,
        subject: dict[str, Any],
        loan_version: int,
        result: dict[str, Any],
        note: str,
        actor: str,
        on: date,
    ) -> None:
        self.check_open("attach a finding")
        _one_of(kind, FINDING_KINDS, "finding")
        _said(actor, "actor")
        self.trigger_event(
            self.FindingAttached,
            kind=kind,
            note=note,
            subject=subject,
            loan_version=loan_version,
            result=result,
            actor=actor,
            recorded_by=current_actor(),
            on=on,
        )

    def decide(
        self,
        outcome: str,
        *,
        reasons: str,
        remedy: str,
        remedy_amount: Decimal | None,
        actor: str,
        on: date,
    ) -> None:
        """Decide the case, once. An upheld or partly upheld case says what remedies it; a
        remedy amount must be positive and goes with a remedy described in words."""
        self.check_open("decide it")
        _one_of(outcome, OUTCOMES, "outcome")
        _said(reasons, "reasons")
        _said(actor, "actor")
        if outcome != "rejected" and not remedy.strip():
            raise CommandRefused(f"a case {outcome} needs the remedy described (--remedy)")
        if remedy_amount is not None:
            if remedy_amount <= ZERO:
                raise CommandRefused(f"remedy amount must be positive, got {fmt(remedy_amount)}")
            if not remedy.strip():
                raise CommandRefused("a remedy amount needs the remedy described (--remedy)")
        self.trigger_event(
            self.Decided,
            outcome=outcome,
            reasons=reasons,
            remedy=remedy,
            remedy_amount=remedy_amount,
            actor=actor,
            recorded_by=current_actor(),
            on=on,
        )

    def close(self, *, note: str, actor: str, on: date) -> None:
        if self.status == CLOSED:
            raise CommandRefused(f"dispute {self.reference} is already closed")
        if self.status != DECIDED:
            raise CommandRefused(
                f"dispute {self.reference} is not decided yet: decide it before closing it"
            )
        _said(note, "note")
        _said(actor, "actor")
        self.trigger_event(self.Closed, note=note, actor=actor, recorded_by=current_actor(), on=on)

    def check_open(self, what: str) -> None:
        """Refused once the case is decided or closed: nothing more may be attached or
        decided."""
        if self.status == CLOSED:
            raise CommandRefused(f"dispute {self.reference} is closed: cannot {what}")
        if self.status == DECIDED:
            raise CommandRefused(
                f"dispute {self.reference} is already decided ({self.outcome}): cannot {what}"
            )


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise CommandRefused(f"{what}: {value!r} is not one of {', '.join(allowed)}")


def _said(text: str, what: str) -> None:
    if not text.strip():
        raise CommandRefused(f"{what}: must say something, got a blank")
