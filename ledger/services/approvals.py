"""Four-eyes approval (issue 14, point 3; loan-rules §12.5): the commands that change what a
borrower owes outside the rules (waivers, refunds, back-dated repayments, reversals, write-offs:
loan-rules §14, restructurings: §16) are asked for here, not run directly.

``request_*`` records an :class:`~ledger.domain.approval.ApprovalRequest`. Under the book's
threshold (``$LEDGER_FOUR_EYES_BELOW``) the command is carried out at once and the request is
recorded as approved by that rule; otherwise the command is rehearsed (a request that would
be refused now is refused, and records nothing) and the request waits. :func:`approve` (a
second person, with the ``approver`` role) carries it out: the loan's events and the request's
``Approved`` are saved in one unit of work, so an approval that the loan now refuses records
nothing and the request stays pending. :func:`reject` ends it without effect.

Roles are checked here by name (``operator``, ``approver``, ``auditor``): the HTTP API passes
the caller's key's role, the CLI the role its roster gives ``--actor``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.adapters.api_keys import APPROVER, AUDITOR
from ledger.adapters.config import FourEyes
from ledger.domain.approval import (
    BACKDATED_REPAYMENT,
    BELOW_THRESHOLD,
    REFERENCE_PREFIX,
    REFUND,
    RESTRUCTURE,
    REVERSAL,
    STATUSES,
    WAIVER,
    WRITE_OFF,
    ApprovalRequest,
    approval_id_for,
    reference_for,
)
from ledger.domain.errors import CommandRefused, LedgerError, NotFound, NotPermitted
from ledger.domain.loan import Loan
from ledger.domain.money import fmt
from ledger.services.application import LedgerApp
from ledger.services.event_log import count_of, created_as, events_by_originator
from ledger.services.parsing import UUID_FORM, loan_reference

EVENT_CLASSES = (ApprovalRequest.Requested, ApprovalRequest.Approved, ApprovalRequest.Rejected)


@dataclass(frozen=True)
class Person:
    """Who asks or approves: a name and the role the API key or the CLI roster gives it."""

    name: str
    role: str


@dataclass(frozen=True)
class Outcome:
    """A request as recorded, and the loan its command changed (None while pending)."""

    request: ApprovalRequest
    loan: Loan | None


# --------------------------------------------------------------------------- requests


def request_waiver(
    app: LedgerApp, loan: str, *, part: str, amount: Decimal, on: date | None, reason: str,
    by: Person, four_eyes: FourEyes,
) -> Outcome:  # fmt: skip
    details = {"part": part, "amount": fmt(amount), "on": _day_text(on)}
    return _request(app, loan, WAIVER, details, amount, reason, by, four_eyes)


def request_refund(
    app: LedgerApp, loan: str, *, amount: Decimal, on: date | None, reason: str, by: Person,
    four_eyes: FourEyes,
) -> Outcome:  # fmt: skip
    details = {"amount": fmt(amount), "on": _day_text(on)}
    return _request(app, loan, REFUND, details, amount, reason, by, four_eyes)


def request_backdated_repayment(
    app: LedgerApp, loan: str, *, amount: Decimal, on: date, reason: str, by: Person,
    four_eyes: FourEyes,
) -> Outcome:  # fmt: skip
    details = {"amount": fmt(amount), "on": on.isoformat()}
    return _request(app, loan, BACKDATED_REPAYMENT, details, amount, reason, by, four_eyes)


def request_reversal(
    app: LedgerApp, loan: str, *, event: int, reason: str, by: Person, four_eyes: FourEyes
) -> Outcome:
    """The amount a reversal moves is the reversed event's: the deduction's ``collected`` or
    the repayment's ``amount`` (a version that is neither is refused by the rehearsal)."""
    target = next((e for e in app.loan_events(loan) if e.originator_version == event), None)
    details = {"event": str(event)}
    if isinstance(target, Loan.InstallmentDeducted):
        amount: Decimal = target.collected
    elif isinstance(target, Loan.Repaid):
        amount = target.amount
    else:  # the loan's own refusal says what the event is
        app.rehearse(lambda: _carry_out(app, REVERSAL, loan, details, reason, by.name))
        raise CommandRefused(f"loan {loan}: event {event} cannot be reversed")
    return _request(app, loan, REVERSAL, details, amount, reason, by, four_eyes)


def request_write_off(
    app: LedgerApp, loan: str, *, on: date | None, reason: str, by: Person, four_eyes: FourEyes
) -> Outcome:
    """Section 14. The amount the request moves is what the write-off would take if it were
    carried out now, on its day (``on``, or the loan's next open day, whose missing days run
    first): rehearsed, so the threshold is tested on the real total, and a write-off the loan
    would refuse is refused now. Approved later, it takes what the loan owes then (the
    ``WrittenOff`` event records it)."""
    amount = app.rehearse(
        lambda: app.write_off(loan, on=on, actor=by.name, reason=reason).written_off
    )
    details = {"on": _day_text(on)}
    return _request(app, loan, WRITE_OFF, details, amount, reason, by, four_eyes)


def request_restructure(
    app: LedgerApp, loan: str, *, on: date | None, term: int | None, rate: Decimal | None,
    reason: str, by: Person, holiday: int | None = None,
) -> Outcome:  # fmt: skip
    """Section 16. Always four eyes, whatever the book's threshold: a restructuring changes
    the contract, not an amount (the request's ``amount`` is the principal it re-plans, for
    the approver to see; rehearsed, so one the loan would refuse is refused now)."""

    def rehearsed() -> Decimal:
        loan_after = app.restructure(
            loan, on=on, term=term, rate=rate, holiday=holiday, actor=by.name, reason=reason
        )
        event: Any = loan_after.pending_events[-1]
        return Decimal(event.principal_not_due)

    amount = app.rehearse(rehearsed)
    details = {
        "on": _day_text(on),
        "term": "" if term is None else str(term),
        "rate": "" if rate is None else str(rate),
        **({} if holiday is None else {"holiday": str(holiday)}),  # only where one is asked
    }
    return _request(app, loan, RESTRUCTURE, details, amount, reason, by, FourEyes())


def _request(
    app: LedgerApp,
    loan_ref: str,
    action: str,
    details: dict[str, str],
    amount: Decimal,
    reason: str,
    by: Person,
    four_eyes: FourEyes,
) -> Outcome:
    """Record the request; carry it out now if the threshold rule lifts four-eyes, else
    rehearse it (refused now: nothing recorded) and leave it pending."""
    if by.role == AUDITOR:
        raise NotPermitted(
            f"{by.name} holds the auditor role: an auditor cannot ask for a "
            + action.replace("_", " ")
        )
    loan = app.get_loan(loan_ref)
    today = app.business_date.today().day
    of_loan = [events for events in all_requests(app) if events[0].loan_id == loan.id]
    waiting = [events[0] for events in of_loan if len(events) == 1]
    counted = sum(
        (e[0].amount for e in of_loan if e[0].rule == BELOW_THRESHOLD and e[0].on == today),
        Decimal(0),
    )
    request = ApprovalRequest.request(
        reference_for(count_of(app, ApprovalRequest.Requested) + 1),
        loan_id=loan.id,
        loan_reference=loan.label,
        action=action,
        details=details,
        amount=amount,
        reason=reason,
        requested_by=by.name,
        threshold=four_eyes.below,
        on=today,
        counted_today=counted,
    )
    changed: Loan | None = None
    if request.rule == BELOW_THRESHOLD:
        changed = _carry_out(app, action, loan_ref, details, reason, by.name)
        request.approve("", loan_version=changed.version, on=today)
    else:
        _rehearse(app, request, waiting)
    app.save(request)
    return Outcome(request, changed)


def _rehearse(app: LedgerApp, request: ApprovalRequest, before: list[Any]) -> None:
    """Carry out, and drop, the loan's waiting requests (``before``) in the order they were
    made, then this one: refused only if this one could not be carried out then (a refund of
    the credit a waiting waiver will make is not refused). A waiting request the loan would
    refuse now is passed over: it cannot block the requests after it."""

    def carry_out_in_order() -> None:
        for asked in before:
            if asked.action == WRITE_OFF:  # it ends the loan: a waiting one is checked last
                continue
            with suppress(LedgerError):
                _carry_out_request(app, asked)
        _carry_out_request(app, request)

    app.rehearse(carry_out_in_order)


def _carry_out_request(app: LedgerApp, asked: Any) -> Loan:
    """A request (or its ``Requested`` event) carried out as it was asked."""
    loan = str(asked.loan_id)
    return _carry_out(app, asked.action, loan, asked.details, asked.reason, asked.requested_by)


# --------------------------------------------------------------------------- decisions


def approve(app: LedgerApp, reference: str, *, by: Person) -> Outcome:
    """A second person with the approver role approves: the command is carried out now, as
    the requester asked it, and recorded with the approval in one unit of work."""
    _check_approver(by, "approve")
    request = get_request(app, reference)
    request.check_approvable(by.name)
    changed = _carry_out(
        app,
        request.action,
        str(request.loan_id),
        request.details,
        request.reason,
        request.requested_by,
    )
    request.approve(by.name, loan_version=changed.version, on=app.business_date.today().day)
    app.save(request)
    return Outcome(request, changed)


def reject(app: LedgerApp, reference: str, *, by: Person, reason: str) -> Outcome:
    _check_approver(by, "reject")
    request = get_request(app, reference)
    request.reject(by.name, reason=reason, on=app.business_date.today().day)
    app.save(request)
    return Outcome(request, None)


def _check_approver(by: Person, what: str) -> None:
    if by.role != APPROVER:
        raise NotPermitted(
            f"{by.name} holds the {by.role} role: only a person with the approver role may "
            f"{what} a request"
        )


def _carry_out(
    app: LedgerApp, action: str, loan: str, details: dict[str, str], reason: str, actor: str
) -> Loan:
    """Run the requested command on the loan (the loan's own rules decide, as ever)."""
    on = date.fromisoformat(details["on"]) if details.get("on") else None
    commands: dict[str, Callable[[], Loan]] = {
        WAIVER: lambda: app.waive(
            loan,
            part=details["part"],
            amount=Decimal(details["amount"]),
            on=on,
            actor=actor,
            reason=reason,
        ),
        REFUND: lambda: app.refund(
            loan, Decimal(details["amount"]), on=on, actor=actor, reason=reason
        ),
        BACKDATED_REPAYMENT: lambda: app.repay_backdated(
            loan, Decimal(details["amount"]), on or date.min, actor=actor, reason=reason
        ),
        REVERSAL: lambda: app.reverse(loan, int(details["event"]), actor=actor, reason=reason),
        WRITE_OFF: lambda: app.write_off(loan, on=on, actor=actor, reason=reason),
        RESTRUCTURE: lambda: app.restructure(
            loan,
            on=on,
            term=int(details["term"]) if details.get("term") else None,
            rate=Decimal(details["rate"]) if details.get("rate") else None,
            holiday=int(details["holiday"]) if details.get("holiday") else None,
            actor=actor,
            reason=reason,
        ),
    }
    return commands[action]()


def _day_text(on: date | None) -> str:
    return on.isoformat() if on is not None else ""


# --------------------------------------------------------------------------- reads


def request_uuid(reference: str) -> UUID:
    reference = loan_reference(reference, "request id")
    if reference[:4].upper() == REFERENCE_PREFIX:
        reference = reference.upper()  # apr-000001 is APR-000001
    return UUID(reference) if UUID_FORM.fullmatch(reference) else approval_id_for(reference)


def get_request(app: LedgerApp, reference: str) -> ApprovalRequest:
    """The request, or :class:`NotFound` (another aggregate's UUID is not read as one)."""
    found = created_as(app, request_uuid(reference), ApprovalRequest.Requested)
    if not isinstance(found, ApprovalRequest):
        raise NotFound(f"unknown approval request {reference}")
    return found


def all_requests(app: LedgerApp) -> list[list[Any]]:
    """Every request's events, oldest request first."""
    grouped = events_by_originator(app, EVENT_CLASSES)
    return sorted(grouped.values(), key=lambda events: _number(events[0].reference))


def _number(reference: str) -> int:
    """``APR-000042`` -> 42: requests in the order they were made (past APR-999999 too)."""
    return int(reference.removeprefix(REFERENCE_PREFIX))


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise CommandRefused(f"status: {status!r} is not one of {', '.join(STATUSES)}")
