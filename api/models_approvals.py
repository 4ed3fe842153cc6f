"""Four-eyes approval over HTTP (issue 14, point 3; loan-rules §12.5): a request as
``ledger approval show --json`` prints it, the list, the answer of a gated command that now
waits for a second person (202), and the bodies of approve and reject."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import Field

from api.inputs import LOAN_PATH_PATTERN, Body, Reason
from api.models import Day, Money, Reference, Shape, Timestamp
from ledger.domain.approval import ACTIONS, STATUSES

Action = Literal["waiver", "refund", "backdated_repayment", "reversal", "write_off", "restructure"]
Status = Literal["pending", "approved", "rejected"]
Rule = Literal["four_eyes", "below_threshold"]
assert set(Action.__args__) == set(ACTIONS)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]

ApprovalId = Annotated[
    str,
    PathParam(
        description="The request's reference (APR-000001) or its UUID",
        pattern=LOAN_PATH_PATTERN,
        max_length=64,
    ),
]
LoanFilter = Annotated[
    str | None,
    Query(description="Only this loan's requests", pattern=LOAN_PATH_PATTERN, max_length=64),
]
StatusFilter = Annotated[Status | None, Query(description="Only requests in this status")]
ApprovalRef = Annotated[str, Field(description="The request's reference", examples=["APR-000001"])]


class Rejection(Body):
    reason: Reason


class ApprovalView(Shape):
    """A request (``ledger approval show --json``): what was asked, by whom, the rule that
    applied (``four_eyes`` or ``below_threshold``, in words in ``rule_text``), the decision,
    and the loan's version after the events it caused once approved."""

    approval_id: ApprovalRef
    uuid: str
    loan_id: Reference
    loan_uuid: str
    action: Action
    what: str = Field(description="What is asked, in words")
    details: dict[str, str] = Field(description="The command's inputs, as given")
    amount: Money = Field(description="What it moves; compared with the threshold")
    reason: str
    requested_by: str
    requested_on: Day
    requested_at: Timestamp
    rule: Rule
    rule_text: str
    threshold: Money | None = Field(description="LEDGER_FOUR_EYES_BELOW then (null: unset)")
    counted_today: Money = Field(
        description="Carried out under the threshold on this loan that day before it: the "
        "rule compares counted_today + amount with the threshold"
    )
    status: Status
    decided_by: str | None = Field(description="The approver (null: the threshold rule)")
    decided_at: Timestamp | None
    decision_reason: str | None
    loan_version: int | None = Field(description="The loan's version after it was carried out")


class ApprovalAnswer(Shape):
    """A request and, once carried out, what its command did (``result``: a waiver's split as
    ``ledger loan waive --json`` prints it, the refund, or the correction; null while pending
    or rejected)."""

    approval: ApprovalView
    result: dict[str, Any] | None


class ApprovalRow(Shape):
    approval_id: ApprovalRef
    loan_id: Reference
    status: Status
    what: str
    amount: Money
    requested_by: str
    rule: Rule
    decided_by: str | None


class ApprovalList(Shape):
    """``GET /approvals`` (``ledger approval list --json``), oldest first."""

    approvals: list[ApprovalRow]
    total: int


PENDING_ANSWER = {
    "model": ApprovalAnswer,
    "description": "Recorded as a request that a second person with the approver role must "
    "approve (four-eyes, loan-rules §12.5); nothing happened to the loan yet",
}
