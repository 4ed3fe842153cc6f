"""Write-off and recovery over HTTP (loan-rules §14): ``POST /loans/{loan_id}/write-offs`` (a
four-eyes command: 202 and the request until a second person approves it) and ``POST
/loans/{loan_id}/recoveries``. Each runs once per Idempotency-Key, as one unit of work; a
refused one writes no event."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from api.context import ApiContext
from api.inputs import Amount, Body, IdempotencyKey, IsoDate, LoanId, Reason, amount_of, day_of
from api.models import CarriedOut, Day, LoanStatus, Money, Reference, Shape
from api.models_approvals import PENDING_ANSWER
from api.problems import LOAN_COMMAND, Operations
from ledger.adapters.api_keys import ApiKey
from ledger.read import views
from ledger.services import approvals


class WriteOff(Body):
    reason: Reason
    on: IsoDate | None = Field(default=None, description="Default: the loan's next open day")


class Recovery(Body):
    amount: Amount = Field(description="At most what is written off and not yet recovered")
    on: IsoDate | None = Field(default=None, description="Default: the business date")
    reason: Annotated[Reason, Field(description="Where the money came from")] = "recovery"


class WriteOffDone(Shape):
    """A write-off carried out (loan-rules section 14), as ``WrittenOff`` records it: what was
    owed that day, by part, and ``total``, their sum."""

    loan_id: Reference
    on: Day
    principal: Money
    interest: Money
    penalty: Money
    compound: Money
    fees: Money
    total: Money
    actor: str
    reason: str
    version: int = Field(description="The WrittenOff event")
    status: LoanStatus
    approval: CarriedOut = None


class RecoveryDone(Shape):
    """A recovery (loan-rules section 14), as ``Recovered`` records it:
    ``outstanding_after = outstanding_before - amount``."""

    loan_id: Reference
    on: Day
    amount: Money
    written_off: Money
    outstanding_before: Money
    outstanding_after: Money = Field(description="Written off and not yet recovered")
    actor: str
    reason: str
    version: int = Field(description="The Recovered event")
    status: LoanStatus


def write_off_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "commands")
    ledger, operator, run_command = ctx.ledger, ctx.operator, ctx.run_command

    @ops.post(
        "/loans/{loan_id}/write-offs",
        WriteOffDone,
        "The write-off",
        LOAN_COMMAND,
        status=201,
        also={202: PENDING_ANSWER},
    )
    def write_off(
        request: Request,
        loan_id: LoanId,
        body: WriteOff,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Write the loan off: everything it owes that day (principal, interest, penalty,
        compound interest, handling fees) leaves the book and nothing accrues after. It needs
        a second person's approval (202 and the request) unless under the threshold."""

        def action() -> tuple[int, Any]:
            outcome = approvals.request_write_off(
                ledger,
                loan_id,
                on=day_of(body.on) if body.on is not None else None,
                reason=body.reason,
                by=ctx.person(key),
                four_eyes=ctx.four_eyes,
            )
            return ctx.gated(outcome, views.write_off)

        return run_command(request, idempotency_key, body, action)

    @ops.post("/loans/{loan_id}/recoveries", RecoveryDone, "The recovery", LOAN_COMMAND, status=201)
    def recover(
        request: Request,
        loan_id: LoanId,
        body: Recovery,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Money received on a written-off loan; more than is written off and not yet
        recovered, or on a loan not written off, is refused (422) and writes nothing."""

        def action() -> tuple[int, Any]:
            loan = ledger.recover(
                loan_id,
                amount_of(body.amount),
                on=day_of(body.on) if body.on is not None else None,
                actor=key.name,
                reason=body.reason,
            )
            return 201, views.recovery(loan)

        return run_command(request, idempotency_key, body, action)

    return router
