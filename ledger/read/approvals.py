"""Approval requests as the CLI prints them (``--json``) and the API answers them: one request
with its rule and decision, the list, and what a carried-out request did to its loan."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ledger.domain.approval import (
    BACKDATED_REPAYMENT,
    BELOW_THRESHOLD,
    REFUND,
    RESTRUCTURE,
    REVERSAL,
    WAIVER,
    WRITE_OFF,
    ApprovalRequest,
)
from ledger.domain.loan import Loan
from ledger.domain.money import fmt
from ledger.read import views
from ledger.services import approvals
from ledger.services.application import LedgerApp

WHAT = {
    WAIVER: "waive {amount} of the {part}",
    REFUND: "refund {amount} of credit",
    BACKDATED_REPAYMENT: "record a repayment of {amount} back-dated to {on}",
    REVERSAL: "reverse event {event}",
    WRITE_OFF: "write the loan off",
    RESTRUCTURE: "restructure the loan: {change}",
}


def _change(details: dict[str, str]) -> str:
    """A restructuring's request in words (section 16)."""
    said = [f"term {details['term']}" if details.get("term") else "",
            f"a payment holiday of {details['holiday']} installments"
            if details.get("holiday") else "",
            f"rate {details['rate']}" if details.get("rate") else ""]  # fmt: skip
    return " and ".join(s for s in said if s) or "nothing"


PART_NAMES = {"fee": "fee", "penalty": "penalty", "interest": "interest",
              "compound": "compound interest"}  # fmt: skip


def rule_text(rule: str, threshold: Decimal | None, counted_today: Decimal) -> str:
    """Which rule applied (loan-rules §12.5), in words."""
    if rule == BELOW_THRESHOLD and threshold is not None:
        before = f", with {fmt(counted_today)} before it today" if counted_today else ""
        return (
            f"below the four-eyes threshold of {fmt(threshold)} (LEDGER_FOUR_EYES_BELOW"
            f"{before}): carried out without a second person"
        )
    limit = f" (threshold {fmt(threshold)})" if threshold is not None else ""
    return f"four eyes: a second person with the approver role decides{limit}"


def request_view(events: list[Any]) -> dict[str, Any]:
    """A request from its events."""
    asked: ApprovalRequest.Requested = events[0]
    view: dict[str, Any] = {
        "approval_id": asked.reference,
        "uuid": str(asked.originator_id),
        "loan_id": asked.loan_reference,
        "loan_uuid": str(asked.loan_id),
        "action": asked.action,
        "what": WHAT[asked.action].format(
            **{
                **asked.details,
                "part": PART_NAMES.get(asked.details.get("part", ""), ""),
                "change": _change(asked.details),
            }
        ),
        "details": dict(asked.details),
        "amount": fmt(asked.amount),
        "reason": asked.reason,
        "requested_by": asked.requested_by,
        "requested_on": asked.on.isoformat(),
        "requested_at": asked.timestamp.isoformat(),
        "rule": asked.rule,
        "rule_text": rule_text(asked.rule, asked.threshold, asked.counted_today),
        "threshold": None if asked.threshold is None else fmt(asked.threshold),
        "counted_today": fmt(asked.counted_today),
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
        "loan_version": None,
    }
    for e in events[1:]:
        if isinstance(e, ApprovalRequest.Approved):
            view.update(status="approved", decided_by=e.approved_by or None)
            view.update(decided_at=e.timestamp.isoformat(), loan_version=e.loan_version)
        elif isinstance(e, ApprovalRequest.Rejected):
            view.update(status="rejected", decided_by=e.rejected_by, decision_reason=e.reason)
            view.update(decided_at=e.timestamp.isoformat())
    return view


def shown(app: LedgerApp, request: ApprovalRequest) -> dict[str, Any]:
    return request_view(app.history(request))


def carried_out(loan: Loan, request: ApprovalRequest) -> dict[str, Any]:
    """What the carried-out command did, as the command itself answers: a waiver's split,
    a refund, or the correction (back-dated repayment, reversal)."""
    if request.action == WAIVER:
        return views.waiver(loan, request.details["part"], Decimal(request.details["amount"]))
    if request.action == REFUND:
        return views.refund(loan)
    if request.action == WRITE_OFF:
        return views.write_off(loan)
    if request.action == RESTRUCTURE:
        return views.restructuring(loan)
    return views.correction(loan, views.newest_pending(loan, Loan.Corrected))


def gated_answer(
    app: LedgerApp, outcome: approvals.Outcome, carried_out: Callable[[Loan], dict[str, Any]]
) -> dict[str, Any]:
    """A four-eyes command's answer (loan-rules §12.5), on the CLI and over HTTP: the request
    and ``"result": None`` while it waits for a second person; carried out at once (under
    the threshold), what it did (``carried_out``) with the request as ``approval``."""
    view = shown(app, outcome.request)
    if outcome.loan is None:
        return {"approval": view, "result": None}
    return {**carried_out(outcome.loan), "approval": view}


def outcome_view(app: LedgerApp, outcome: approvals.Outcome) -> dict[str, Any]:
    """A request and, once carried out, what it did (``result``; None while pending)."""
    result = None if outcome.loan is None else carried_out(outcome.loan, outcome.request)
    return {"approval": shown(app, outcome.request), "result": result}


def listed(app: LedgerApp, *, loan: str | None = None, status: str | None = None) -> dict[str, Any]:
    """The requests, of one loan and in one status if asked, oldest first."""
    approvals.check_status(status)
    loan_uuid = str(app.get_loan(loan).id) if loan is not None else None
    rows = []
    for events in approvals.all_requests(app):
        v = request_view(events)
        if loan_uuid in (None, v["loan_uuid"]) and status in (None, v["status"]):
            rows.append({k: v[k] for k in ROW})
    return {"approvals": rows, "total": len(rows)}


ROW = ("approval_id", "loan_id", "status", "what", "amount", "requested_by", "rule",
       "decided_by")  # fmt: skip


def of_loan(app: LedgerApp, loan_uuid: str) -> list[dict[str, Any]]:
    """The loan's requests in full, oldest first (for the dispute report)."""
    views_ = (request_view(events) for events in approvals.all_requests(app))
    return [v for v in views_ if v["loan_uuid"] == loan_uuid]
