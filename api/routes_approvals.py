"""Four-eyes approval over HTTP (issue 14, point 3; loan-rules §12.5), the same use cases as
``ledger approval``: list and show requests (every role); approve or reject one (the
``approver`` role, and never the requester). Approving carries the command out: the loan's
events and the approval are one unit of work, run once per Idempotency-Key, so an approval
the loan now refuses writes nothing and the request stays pending."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.context import ApiContext
from api.inputs import IdempotencyKey
from api.models_approvals import (
    ApprovalAnswer,
    ApprovalId,
    ApprovalList,
    ApprovalView,
    LoanFilter,
    Rejection,
    StatusFilter,
)
from api.problems import LOAN_COMMAND, LOAN_READ, Operations
from ledger.adapters.api_keys import ApiKey
from ledger.read import approvals as approval_views
from ledger.services import approvals


def approval_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "approvals")
    ledger, approver, anyone = ctx.ledger, ctx.approver, ctx.anyone

    @ops.post("/approvals/{approval_id}/approve", ApprovalAnswer, "Approved and done", LOAN_COMMAND)
    def approve(
        request: Request,
        approval_id: ApprovalId,
        key: ApiKey = approver,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Approve another person's request (approver role): its command is carried out now,
        as it was asked; `result` is what it did. The requester's own approval: 403."""

        def action() -> tuple[int, Any]:
            outcome = approvals.approve(ledger, approval_id, by=ctx.person(key))
            return 200, approval_views.outcome_view(ledger, outcome)

        return ctx.run_command(request, idempotency_key, None, action)

    @ops.post("/approvals/{approval_id}/reject", ApprovalAnswer, "Rejected", LOAN_COMMAND)
    def reject(
        request: Request,
        approval_id: ApprovalId,
        body: Rejection,
        key: ApiKey = approver,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Reject another person's request (approver role), with the reason; nothing
        happens to the loan."""

        def action() -> tuple[int, Any]:
            outcome = approvals.reject(ledger, approval_id, by=ctx.person(key), reason=body.reason)
            return 200, approval_views.outcome_view(ledger, outcome)

        return ctx.run_command(request, idempotency_key, body, action)

    @ops.get("/approvals", ApprovalList, "The requests", LOAN_READ)
    def list_approvals(
        loan: LoanFilter = None, status: StatusFilter = None, key: ApiKey = anyone
    ) -> Any:
        """The four-eyes requests, oldest first, of one loan and in one status if asked."""
        return approval_views.listed(ledger, loan=loan, status=status)

    @ops.get("/approvals/{approval_id}", ApprovalView, "The request", LOAN_READ)
    def show(approval_id: ApprovalId, key: ApiKey = anyone) -> Any:
        """A request: what was asked, by whom, the rule that applied, the decision."""
        return approval_views.shown(ledger, approvals.get_request(ledger, approval_id))

    return router
