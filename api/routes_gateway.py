"""The payment gateway over HTTP (loan-rules §17).

- ``POST /gateway/results``: the provider's webhook. It carries no API key; it is signed:
  ``X-Gateway-Timestamp`` (Unix seconds) and ``X-Gateway-Signature: sha256=<hex>``, the
  HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``$LEDGER_GATEWAY_SECRET``. A bad signature,
  or a timestamp more than :data:`WINDOW_SECONDS` away from now, is 401 (replay protection);
  within the window a replayed delivery records nothing new, since each result id is recorded
  once. Every result of a delivery is recorded, or none (422) if one is refused.
- ``GET /gateway/pending``: the requests that await a result.
- ``POST /gateway/reconcile``: a day's collections against the provider's settlement lines.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import Field, StrictStr
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
from api.inputs import Body, IsoDate, day_of
from api.models import Day, Money, Reference, Shape
from api.problems import COMMAND, READ, Operations, Problem
from ledger.adapters.api_keys import ApiKey
from ledger.domain.errors import InvalidInput
from ledger.domain.money import fmt
from ledger.services.settlement_file import result_of

WINDOW_SECONDS = 300
MAX_RESULTS = 1000
SIGNATURE = APIKeyHeader(
    name="X-Gateway-Signature",
    scheme_name="gatewaySignature",
    description="The payment provider's webhook only: `sha256=` and the hex HMAC-SHA256 of "
    "`<X-Gateway-Timestamp>.<body>` under $LEDGER_GATEWAY_SECRET (no API key).",
    auto_error=False,
)


class ResultIn(Body):
    result_id: StrictStr = Field(min_length=1, max_length=120, description="The provider's id")
    request_id: StrictStr = Field(min_length=1, max_length=120, description="The ledger's id")
    status: Literal["settled", "partly_settled", "bounced"]
    amount: StrictStr = Field(max_length=20, description="Money taken, e.g. '1053.15'")
    taken_on: IsoDate | None = Field(default=None, description="Default: the request's day")


class ResultsIn(Body):
    results: list[ResultIn] = Field(min_length=1, max_length=MAX_RESULTS)


class ResultDone(Shape):
    result_id: str
    request_id: str
    status: str
    collected: Money
    loan: Reference
    outcome: Literal["recorded", "already", "written_off"] = Field(
        description="recorded now, already recorded before (a duplicate delivery), or a "
        "bounce of a request the loan's write-off answered (nothing recorded)"
    )
    event: int = Field(description="The Corrected event that recorded the result")


class ResultsDone(Shape):
    results: list[ResultDone]
    recorded: int
    already: int


class PendingRequest(Shape):
    request_id: str
    loan_id: str
    requested_on: Day
    requested: Money


class Pending(Shape):
    pending: list[PendingRequest]


class ReconcileIn(Body):
    date: IsoDate
    lines: list[ResultIn] = Field(max_length=200_000, description="The provider's settlement")


class DifferenceOut(Shape):
    kind: Literal[
        "missing_in_ledger", "missing_at_provider", "duplicate", "amount_mismatch", "unknown"
    ]
    request_id: str
    ledger: Money | None
    provider: Money | None
    note: str


class ReconcileOut(Shape):
    date: Day
    ledger_total: Money
    provider_total: Money
    matched: int
    holds: bool = Field(description="No difference")
    differences: list[DifferenceOut]


def signed(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a delivery must carry: ``sha256=`` and the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def check_signature(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes
) -> None:
    if not secret:
        raise Problem(
            403, "Forbidden", "the gateway webhook is off: $LEDGER_GATEWAY_SECRET is not set"
        )
    if not timestamp or not signature:
        raise Problem(
            401, "Unauthorized", "a delivery needs X-Gateway-Timestamp and X-Gateway-Signature"
        )
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        raise Problem(
            401,
            "Unauthorized",
            f"X-Gateway-Timestamp is not within {WINDOW_SECONDS} s of now (a replay?)",
        )
    if not hmac.compare_digest(signed(secret, timestamp, body), signature.strip()):
        raise Problem(401, "Unauthorized", "X-Gateway-Signature does not match the body")


def _results(items: list[ResultIn]) -> list[Any]:
    try:
        return [result_of(item.model_dump(), f"results[{i}]") for i, item in enumerate(items)]
    except InvalidInput as error:
        raise Problem(422, "Refused", str(error)) from None


def gateway_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "gateway")
    ledger, anyone = ctx.ledger, ctx.anyone

    @ops.post("/gateway/results", ResultsDone, "The results recorded", COMMAND)
    async def results(
        request: Request,
        body: ResultsIn,
        x_gateway_signature: Annotated[str | None, Depends(SIGNATURE)],
        x_gateway_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    ) -> JSONResponse:
        """The provider's webhook: settled, partly settled and bounced results, each
        recorded once however often it is delivered (signed, see the module's notes)."""
        raw = await request.body()
        check_signature(
            ledger.gateway_settings.secret, x_gateway_timestamp, x_gateway_signature, raw
        )
        request.state.caller = "gateway"
        given = _results(body.results)

        def action() -> tuple[int, Any]:
            done = [r.as_dict() for r in ledger.record_results(given, channel="webhook")]
            recorded = sum(1 for r in done if r["outcome"] == "recorded")
            return 200, {"results": done, "recorded": recorded, "already": len(done) - recorded}

        return await run_in_threadpool(ctx.run_command, request, None, body, action)

    @ops.get("/gateway/pending", Pending, "The requests awaiting a result", READ)
    def pending(key: ApiKey = anyone) -> Any:
        """Every deduction request that awaits the gateway's result."""
        rows = ledger.pending_requests()
        return {
            "pending": [
                {
                    "request_id": r.request_id,
                    "loan_id": str(r.loan_id),
                    "requested_on": r.requested_on.isoformat(),
                    "requested": fmt(r.requested),
                }
                for r in rows
            ]
        }

    @ops.post("/gateway/reconcile", ReconcileOut, "The reconciliation", (*READ, 413))
    def reconcile(body: ReconcileIn, key: ApiKey = anyone) -> Any:
        """The ledger's collections of `date` against the provider's settlement `lines`:
        every request missing on either side, listed twice, or with another amount."""
        report = ledger.reconcile(day_of(body.date), _results(body.lines))
        return {
            "date": report.on.isoformat(),
            "ledger_total": fmt(report.ledger_total),
            "provider_total": fmt(report.provider_total),
            "matched": report.matched,
            "holds": not report.differences,
            "differences": [d.as_dict() for d in report.differences],
        }

    return router
