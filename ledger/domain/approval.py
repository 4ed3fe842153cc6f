"""Four-eyes approval (issue 14, point 3; loan-rules §12.5 in ``docs/loan-rules.md``): a
command that changes what a borrower owes outside the rules (a waiver, a refund, a back-dated
repayment, a reversal, a write-off: loan-rules §14, a restructuring: §16) is first recorded as
a request; a second person with the ``approver`` role approves it (then, in the same unit of
work, the loan's events happen) or rejects it.

``ApprovalRequest`` is an aggregate of its own, linked to a loan. Its events:

- ``Requested``: what is asked (``action`` and its ``details``, the ``amount`` it moves), why,
  by whom, and the rule that applied: ``four_eyes`` (a second person must approve) or
  ``below_threshold`` (the amount is under the book's threshold, ``threshold``, so no second
  person is needed and it is carried out at once);
- ``Approved``: by whom (empty when the threshold rule carried it out) and the loan's version
  after the events it caused (``loan_version``);
- ``Rejected``: by whom and why.

The rules: the requester may not approve their own request (nor reject it: they withdraw it
by asking an approver to reject it); a request is decided once.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.actor import current_actor
from ledger.domain.errors import CommandRefused, NotPermitted
from ledger.domain.money import ZERO, fmt

APPROVAL_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:approval")
REFERENCE_PREFIX = "APR-"
WAIVER, REFUND, BACKDATED_REPAYMENT, REVERSAL, WRITE_OFF, RESTRUCTURE = (
    "waiver", "refund", "backdated_repayment", "reversal", "write_off", "restructure"
)  # fmt: skip
ACTIONS = (WAIVER, REFUND, BACKDATED_REPAYMENT, REVERSAL, WRITE_OFF, RESTRUCTURE)
FOUR_EYES, BELOW_THRESHOLD = "four_eyes", "below_threshold"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)


def approval_id_for(reference: str) -> UUID:
    """A request's UUID from its reference (``APR-000001``), in a namespace of its own."""
    return uuid5(APPROVAL_NAMESPACE, reference)


def reference_for(number: int) -> str:
    return f"{REFERENCE_PREFIX}{number:06d}"


def rule_for(amount: Decimal, threshold: Decimal | None, counted_today: Decimal = ZERO) -> str:
    """§12.5: ``below_threshold`` when a threshold is set and ``counted_today + amount <
    threshold`` (``counted_today``: what was already carried out under the threshold on the
    same loan that business day, so a large amount cut into small ones is not let through),
    else ``four_eyes``. No threshold set: every such command needs a second person."""
    if threshold is not None and counted_today + amount < threshold:
        return BELOW_THRESHOLD
    return FOUR_EYES


class ApprovalRequest(Aggregate):
    """One request for a command that needs a second person's approval."""

    class Event(Aggregate.Event):
        recorded_by: str
        on: date

    class Requested(Aggregate.Created):
        reference: str
        loan_id: UUID
        loan_reference: str
        action: str
        details: dict[str, str]
        amount: Decimal
        reason: str
        requested_by: str
        rule: str
        threshold: Decimal | None
        counted_today: Decimal
        recorded_by: str
        on: date

    class Approved(Event):
        approved_by: str
        loan_version: int

        def apply(self, request: ApprovalRequest) -> None:
            request.status = APPROVED

    class Rejected(Event):
        rejected_by: str
        reason: str

        def apply(self, request: ApprovalRequest) -> None:
            request.status = REJECTED

    def __init__(
        self,
        reference: str,
        loan_id: UUID,
        loan_reference: str,
        action: str,
        details: dict[str, str],
        amount: Decimal,
        reason: str,
        requested_by: str,
        rule: str,
        threshold: Decimal | None,
        counted_today: Decimal,
        recorded_by: str,
        on: date,
    ) -> None:
        self.reference = reference
        self.loan_id = loan_id
        self.loan_reference = loan_reference
        self.action = action
        self.details = details
        self.amount = amount
        self.reason = reason
        self.requested_by = requested_by
        self.rule = rule
        self.status = PENDING

    @classmethod
    def request(
        cls,
        reference: str,
        *,
        loan_id: UUID,
        loan_reference: str,
        action: str,
        details: dict[str, str],
        amount: Decimal,
        reason: str,
        requested_by: str,
        threshold: Decimal | None,
        on: date,
        counted_today: Decimal = ZERO,
    ) -> ApprovalRequest:
        """A new request; the rule that applies is decided here (:func:`rule_for`)."""
        if action not in ACTIONS:
            raise CommandRefused(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
        if amount < ZERO:
            raise CommandRefused(f"amount must not be negative, got {fmt(amount)}")
        _said(reason, "reason")
        _said(requested_by, "requester")
        return cls._create(
            cls.Requested,
            id=approval_id_for(reference),
            reference=reference,
            loan_id=loan_id,
            loan_reference=loan_reference,
            action=action,
            details=details,
            amount=amount,
            reason=reason,
            requested_by=requested_by,
            rule=rule_for(amount, threshold, counted_today),
            threshold=threshold,
            counted_today=counted_today,
            recorded_by=current_actor(),
            on=on,
        )

    def approve(self, approver: str, *, loan_version: int, on: date) -> None:
        """Approved by ``approver`` (a second person), or by the threshold rule
        (``approver`` empty, only for a ``below_threshold`` request)."""
        self.check_approvable(approver)
        self.trigger_event(
            self.Approved,
            approved_by=approver,
            loan_version=loan_version,
            recorded_by=current_actor(),
            on=on,
        )

    def check_approvable(self, approver: str) -> None:
        """Refused unless pending and, under the four-eyes rule, ``approver`` is a second
        person (not the requester). Checked before the command is carried out."""
        self._check_pending("approve it")
        if self.rule == FOUR_EYES:
            _said(approver, "approver")
            self._check_second_person(approver, "approve")

    def reject(self, rejecter: str, *, reason: str, on: date) -> None:
        self._check_pending("reject it")
        _said(rejecter, "approver")
        _said(reason, "reason")
        self._check_second_person(rejecter, "reject")
        self.trigger_event(
            self.Rejected, rejected_by=rejecter, reason=reason, recorded_by=current_actor(), on=on
        )

    def _check_pending(self, what: str) -> None:
        if self.status != PENDING:
            raise CommandRefused(
                f"request {self.reference} is already {self.status}: cannot {what}"
            )

    def _check_second_person(self, who: str, what: str) -> None:
        if same_person(who, self.requested_by):
            raise NotPermitted(
                f"request {self.reference} was made by {self.requested_by}: the requester "
                f"cannot {what} their own request; a second person with the approver role must"
            )


def person_key(name: str) -> str:
    """A name as compared between people: Unicode NFKC, invisible format characters dropped,
    case folded, without the ``api:`` the HTTP API puts before a key's name."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c) != "Cf"
    )
    folded = folded.strip().casefold()
    return folded.removeprefix("api:").strip()


def same_person(one: str, other: str) -> bool:
    return person_key(one) == person_key(other)


def _said(text: str, what: str) -> None:
    if not text.strip():
        raise CommandRefused(f"{what} must not be blank")
