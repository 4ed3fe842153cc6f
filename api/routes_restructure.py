"""Restructuring over HTTP (loan-rules §16): ``POST /loans/{loan_id}/restructurings/preview``
(the old and new plan side by side and the cost of each; nothing is written) and ``POST
/loans/{loan_id}/restructurings`` (always a four-eyes request: 202 until a second person
approves it with ``POST /approvals/{approval_id}/approve``). A refused one writes no event."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictInt

from api.context import ApiContext
from api.inputs import Body, IdempotencyKey, IsoDate, LoanId, Rate, Reason, day_of
from api.models import Day, Money, Reference, Shape
from api.models_approvals import ApprovalAnswer
from api.problems import LOAN_COMMAND, LOAN_QUERY, Operations
from ledger.adapters.api_keys import ApiKey
from ledger.domain.errors import CommandRefused
from ledger.domain.restructure import MAX_HOLIDAY
from ledger.domain.terms import MAX_TERM
from ledger.read import views
from ledger.read.restructuring import preview_view
from ledger.services import approvals
from ledger.services.parsing import decimal_text

TERM = Field(
    default=None,
    ge=1,
    le=MAX_TERM,
    description="The new term: the number of the last installment (more than those fixed)",
)
RATE = Field(default=None, description="The new rate, in the loan's own form (daily or annual)")
HOLIDAY = Field(
    default=None,
    ge=1,
    le=MAX_HOLIDAY,
    description="A payment holiday: the next installments not yet fixed moved (not with term)",
)


class RestructuringPreviewInput(Body):
    term: StrictInt | None = TERM
    rate: Rate | None = RATE
    holiday: StrictInt | None = HOLIDAY
    on: IsoDate | None = Field(default=None, description="Default: the loan's next open day")


class Restructuring(RestructuringPreviewInput):
    reason: Reason


class PlanRow(Shape):
    """One installment, as planned before (``old_*``) and after (``new_*``); null where the
    plan has no such installment."""

    k: int
    due_date: Day
    old_principal: Money | None
    old_interest: Money | None
    old_total: Money | None
    new_principal: Money | None
    new_interest: Money | None
    new_total: Money | None


class RestructuringPreview(Shape):
    """A restructuring as it would be carried out (loan-rules section 16), written nowhere:
    the inputs of the plan before (``*_before``) and after, the plan side by side, and the
    annual cost (IRR) under each (null when there is none to find)."""

    loan_id: Reference
    on: Day
    kind: str
    fixed: int
    principal_not_due: Money
    rate_name: str
    rate_before: str
    rate: str
    monthly_rate_before: str
    monthly_rate: str
    last_k_before: int
    last_k: int
    emi_before: Money
    emi: Money
    principal_step_before: Money
    principal_step: Money
    holiday: int | None
    handling_fee: Money | None
    plan: list[PlanRow]
    old_total: Money
    new_total: Money
    difference: Money
    old_cost: str | None
    new_cost: str | None
    cost_difference: str | None
    written: bool


def restructure_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "commands")
    ledger, operator, anyone, run_command = ctx.ledger, ctx.operator, ctx.anyone, ctx.run_command

    @ops.post(
        "/loans/{loan_id}/restructurings/preview",
        RestructuringPreview,
        "The preview",
        LOAN_QUERY,
    )
    def preview(loan_id: LoanId, body: RestructuringPreviewInput, key: ApiKey = anyone) -> Any:
        """The old and new plan side by side and the cost of each; nothing is written."""
        if body.term is None and body.rate is None and body.holiday is None:
            raise CommandRefused("give term, rate or holiday (rate may go with either)")
        return preview_view(
            ledger.preview_restructure(
                loan_id,
                on=day_of(body.on) if body.on is not None else None,
                term=body.term,
                rate=decimal_text(body.rate, "rate") if body.rate is not None else None,
                holiday=body.holiday,
            )
        )

    @ops.post(
        "/loans/{loan_id}/restructurings",
        ApprovalAnswer,
        "The request, waiting for a second person",
        LOAN_COMMAND,
        status=202,
    )
    def restructure(
        request: Request,
        loan_id: LoanId,
        body: Restructuring,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Restructure the loan: the principal not yet due re-planned over a new term and/or
        at a new rate from the next installment on, or after a payment holiday. Always a
        four-eyes request (202); a second person approves it (``POST
        /approvals/{approval_id}/approve``)."""

        def action() -> tuple[int, Any]:
            if body.term is None and body.rate is None and body.holiday is None:
                raise CommandRefused("give term, rate or holiday (rate may go with either)")
            outcome = approvals.request_restructure(
                ledger,
                loan_id,
                on=day_of(body.on) if body.on is not None else None,
                term=body.term,
                rate=decimal_text(body.rate, "rate") if body.rate is not None else None,
                holiday=body.holiday,
                reason=body.reason,
                by=ctx.person(key),
            )
            return ctx.gated(outcome, views.restructuring)

        return run_command(request, idempotency_key, body, action)

    return router
