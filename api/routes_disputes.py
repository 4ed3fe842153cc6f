"""Dispute cases over HTTP (issue 14, point 1), the same use cases as ``ledger dispute``:
open a case, attach findings, decide, close (operators: each a command, run once per
Idempotency-Key as one unit of work, so a refused one writes nothing); read a case and list
cases (operators and auditors).

An auditor may not attach a finding: attaching records an event on the case, and the auditor
role sends no command; an auditor computes the same finding with the audit reads
(``/loans/{id}/verify``, ``what-if``, ``explain``) and an operator attaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.context import ApiContext
from api.inputs import IdempotencyKey, amount_of, day_of
from api.models_disputes import (
    AttachFinding,
    Closure,
    Decision,
    DisputeCase,
    DisputeId,
    DisputeList,
    LoanFilter,
    OpenDispute,
    StatusFilter,
)
from api.problems import LOAN_COMMAND, LOAN_READ, Operations, Problem
from ledger.adapters.api_keys import ApiKey
from ledger.domain.dispute import Dispute
from ledger.services import disputes
from ledger.services.application import LedgerApp


def dispute_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "disputes")
    ledger, operator, anyone = ctx.ledger, ctx.operator, ctx.anyone

    def run(
        request: Request,
        key: str | None,
        body: Any,
        command: Callable[[LedgerApp], Dispute],
    ) -> JSONResponse:
        """The command as one unit of work; the answer is the case as it then is (201)."""
        return ctx.run_command(
            request, key, body, lambda: (201, disputes.shown(ledger, command(ledger)))
        )

    @ops.post("/disputes", DisputeCase, "The case opened", LOAN_COMMAND, status=201)
    def open_dispute(
        request: Request,
        body: OpenDispute,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Open a dispute case about a loan: the borrower's claim (the charge, the amount
        disputed, the days concerned, their words, who received it, the channel)."""
        return run(
            request,
            idempotency_key,
            body,
            lambda app: disputes.open_dispute(
                app,
                body.loan_id,
                charge=body.charge,
                amount=amount_of(body.amount),
                period=(day_of(body.from_), day_of(body.to)),
                claim=body.claim,
                received_by=body.received_by,
                channel=body.channel,
                channel_ref=body.channel_ref,
                actor=key.name,
            ),
        )

    @ops.post(
        "/disputes/{dispute_id}/findings", DisputeCase, "The finding", LOAN_COMMAND, status=201
    )
    def attach(
        request: Request,
        dispute_id: DisputeId,
        body: AttachFinding,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Attach a finding computed from the ledger now and kept with the case: exactly one
        of `verify: true`, `what_if: {term: value}` or `explain: figure`."""
        chosen = [body.verify, body.what_if is not None, body.explain is not None]
        if sum(chosen) != 1:
            raise Problem(422, "Invalid request", "give exactly one of verify, what_if, explain")
        kind = "verify" if body.verify else "what_if" if body.what_if is not None else "explain"
        return run(
            request,
            idempotency_key,
            body,
            lambda app: disputes.attach(
                app,
                dispute_id,
                kind,
                settings=body.what_if,
                figure=body.explain,
                note=body.note,
                actor=key.name,
            ),
        )

    @ops.post(
        "/disputes/{dispute_id}/decision", DisputeCase, "The decision", LOAN_COMMAND, status=201
    )
    def decide(
        request: Request,
        dispute_id: DisputeId,
        body: Decision,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Decide the case, once: upheld, partly upheld or rejected, with the reasons and
        the remedy (needed unless rejected)."""
        amount = None if body.remedy_amount is None else amount_of(body.remedy_amount)
        return run(
            request,
            idempotency_key,
            body,
            lambda app: disputes.decide(
                app,
                dispute_id,
                body.outcome,
                reasons=body.reasons,
                remedy=body.remedy,
                remedy_amount=amount,
                actor=key.name,
            ),
        )

    @ops.post(
        "/disputes/{dispute_id}/closure", DisputeCase, "The case closed", LOAN_COMMAND, status=201
    )
    def close(
        request: Request,
        dispute_id: DisputeId,
        body: Closure,
        key: ApiKey = operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Close a decided case, with a closing note; nothing may be added after."""
        return run(
            request,
            idempotency_key,
            body,
            lambda app: disputes.close(app, dispute_id, note=body.note, actor=key.name),
        )

    @ops.get("/disputes", DisputeList, "The cases", LOAN_READ)
    def list_disputes(
        loan: LoanFilter = None, status: StatusFilter = None, key: ApiKey = anyone
    ) -> Any:
        """The dispute cases, oldest first, of one loan and in one status if asked."""
        return disputes.list_disputes(ledger, loan=loan, status=status)

    @ops.get("/disputes/{dispute_id}", DisputeCase, "The case", LOAN_READ)
    def show(dispute_id: DisputeId, key: ApiKey = anyone) -> Any:
        """A case: the claim, each finding, the decision and its remedy, the closing; each
        step with who and when."""
        return disputes.show(ledger, dispute_id)

    return router
