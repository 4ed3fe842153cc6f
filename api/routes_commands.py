"""The HTTP API's commands: each runs once per Idempotency-Key, as one unit of work."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    JSONResponse,
)

from api.context import ApiContext
from api.inputs import (
    IdempotencyKey,
    LoanId,
    OpenLoan,
    Prepayment,
    Refund,
    Release,
    Repayment,
    Reversal,
    Waiver,
    amount_of,
    day_of,
)
from api.models import (
    CorrectionDone,
    LoanFigures,
    PrepaymentAnswer,
    RefundDone,
    Released,
    RepaymentDone,
)
from api.models_approvals import PENDING_ANSWER
from api.problems import COMMAND, LOAN_COMMAND, Operations, Problem
from ledger.adapters.api_keys import ApiKey
from ledger.domain.errors import CommandRefused
from ledger.domain.terms import Replan
from ledger.read import views
from ledger.services import approvals, integrity
from ledger.services.application import loan_id_for
from ledger.services.products import terms_from_input

REPAID = RepaymentDone | CorrectionDone  # a back-dated repayment is a correction
PREPAID = PrepaymentAnswer


def command_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "commands")
    ledger, operator, run_command = ctx.ledger, ctx.operator, ctx.run_command

    # ------------------------------------------------------------------ commands

    @ops.post("/loans", LoanFigures, "The loan opened", COMMAND, status=201)
    def open_loan(
        request: Request,
        body: OpenLoan,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Open (disburse) a loan; the answer is its figures on the day it was disbursed."""

        def action() -> tuple[int, Any]:
            fields = body.model_dump(exclude_none=True)
            reference = fields.pop("loan_id", None)
            terms = terms_from_input(**fields)
            opened = ledger.open_loan(terms, reference)
            return 201, views.loan_state(opened, terms.disbursed_on)

        return run_command(request, idempotency_key, body, action)

    @ops.post(
        "/loans/{loan_id}/repayments",
        REPAID,
        "The repayment",
        LOAN_COMMAND,
        status=201,
        also={202: PENDING_ANSWER},
    )
    def repay(
        request: Request,
        loan_id: LoanId,
        body: Repayment,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """A repayment, allocated to penalty, interest, then principal. A back-dated one
        (`backdated: true`, with a reason) corrects the history: it needs a second person's
        approval (202 and the request; four-eyes, loan-rules §12.5) unless its amount is under
        the book's threshold, when it is done at once and answers as a correction."""

        def action() -> tuple[int, Any]:
            amount, on = amount_of(body.amount), day_of(body.on)
            if body.backdated:
                if not body.reason:
                    raise Problem(422, "Invalid request", "a back-dated repayment needs a reason")
                outcome = approvals.request_backdated_repayment(
                    ledger,
                    loan_id,
                    amount=amount,
                    on=on,
                    reason=body.reason,
                    by=ctx.person(key),
                    four_eyes=ctx.four_eyes,
                )
                return ctx.gated(outcome, ctx.correction)
            if body.reason is not None:
                raise Problem(422, "Invalid request", "reason goes with backdated=true")
            loan, items = ledger.repay(loan_id, amount, on)
            return 201, views.repayment(loan, on, amount, items)

        return run_command(request, idempotency_key, body, action)

    @ops.post("/loans/{loan_id}/prepayments", PREPAID, "The prepayment", LOAN_COMMAND, status=201)
    def prepay(
        request: Request,
        loan_id: LoanId,
        body: Prepayment,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """A full or partial prepayment (`executed: true`); the rest of the plan is redone."""

        def action() -> tuple[int, Any]:
            amount = _prepay_amount(body)
            loan, quote = ledger.prepay(
                loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan)
            )
            return 201, views.prepayment(loan, quote, executed=True)

        return run_command(request, idempotency_key, body, action)

    return router


def correction_routes(ctx: ApiContext) -> APIRouter:
    """Reversals and waivers: corrections of a loan, recorded as new events."""
    router = APIRouter()
    ops = Operations(router, "commands")
    ledger, operator, run_command = ctx.ledger, ctx.operator, ctx.run_command

    @ops.post(
        "/loans/{loan_id}/reversals",
        CorrectionDone,
        "The reversal",
        LOAN_COMMAND,
        status=201,
        also={202: PENDING_ANSWER},
    )
    def reverse(
        request: Request,
        loan_id: LoanId,
        body: Reversal,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Reverse a deduction or a repayment: a correction of the loan's history, after a
        second person's approval (202 and the request) unless under the threshold."""

        def action() -> tuple[int, Any]:
            outcome = approvals.request_reversal(
                ledger,
                loan_id,
                event=body.event,
                reason=body.reason,
                by=ctx.person(key),
                four_eyes=ctx.four_eyes,
            )
            return ctx.gated(outcome, ctx.correction)

        return run_command(request, idempotency_key, body, action)

    @ops.post("/loans/{loan_id}/release", Released, "The loan taken back", LOAN_COMMAND)
    def release(
        request: Request,
        loan_id: LoanId,
        body: Release,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Take back a loan quarantined for failing an integrity check (its chain, its
        anchored head or its snapshot): new events may be recorded for it again."""

        def action() -> tuple[int, Any]:
            if not integrity.release(ledger, loan_id_for(loan_id)):
                raise CommandRefused(f"loan {loan_id} is not quarantined")
            return 200, {"loan_id": loan_id, "released": True, "reason": body.reason}

        return run_command(request, idempotency_key, body, action)

    @ops.post(
        "/loans/{loan_id}/waivers",
        LoanFigures,
        "The loan after",
        LOAN_COMMAND,
        status=201,
        also={202: PENDING_ANSWER},
    )
    def waive(
        request: Request,
        loan_id: LoanId,
        body: Waiver,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Waive a charge (`fee`: the prepayment fee; `penalty`; `interest`): what is still
        owed of it first, then what was already paid of it, which becomes credit owed to the
        borrower (a closed loan too). It needs a second person's approval (202 and the
        request) unless under the threshold; then the answer is the loan's figures after it."""

        def action() -> tuple[int, Any]:
            outcome = approvals.request_waiver(
                ledger,
                loan_id,
                part=body.part,
                amount=amount_of(body.amount),
                on=_day_or_none(body.on),
                reason=body.reason,
                by=ctx.person(key),
                four_eyes=ctx.four_eyes,
            )
            return ctx.gated(outcome, views.loan_state)

        return run_command(request, idempotency_key, body, action)

    @ops.post(
        "/loans/{loan_id}/refunds",
        RefundDone,
        "The refund",
        LOAN_COMMAND,
        status=201,
        also={202: PENDING_ANSWER},
    )
    def refund(
        request: Request,
        loan_id: LoanId,
        body: Refund,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Pay credit the loan holds back to the borrower's linked account, through the
        payment gateway, after a second person's approval (202 and the request) unless under
        the threshold; more than the credit is refused (422) and writes nothing."""

        def action() -> tuple[int, Any]:
            amount, on = amount_of(body.amount), _day_or_none(body.on)
            outcome = approvals.request_refund(
                ledger,
                loan_id,
                amount=amount,
                on=on,
                reason=body.reason,
                by=ctx.person(key),
                four_eyes=ctx.four_eyes,
            )
            return ctx.gated(outcome, views.refund)

        return run_command(request, idempotency_key, body, action)

    return router


def _day_or_none(text: str | None) -> date | None:
    return day_of(text) if text is not None else None


def _prepay_amount(body: Prepayment) -> Any:
    if body.full == (body.amount is not None):
        raise Problem(422, "Invalid request", "give exactly one of full=true and amount")
    return amount_of(body.amount) if body.amount is not None else None
