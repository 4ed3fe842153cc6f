"""The HTTP API's reads and audits (operators and auditors)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
)
from pydantic import AfterValidator, Field

from api.context import ApiContext
from api.inputs import (
    LOAN_PATH_PATTERN,
    AsOf,
    KnownAt,
    LoanId,
    Month,
    Prepayment,
    WhatIf,
    day_of,
)
from api.routes_commands import _prepay_amount
from ledger.adapters.api_keys import ApiKey
from ledger.adapters.config import one_line
from ledger.domain.errors import CommandRefused, InvalidInput, NotFound
from ledger.domain.terms import Replan
from ledger.read import views
from ledger.services import audit, integrity, parsing
from ledger.services.application import loan_id_for
from ledger.services.explain import explain as explain_loan
from projections import balances as balances_view
from projections import schedule as schedule_view
from projections import statements as statements_view
from projections import verify as projection_check


def _whole_number(what: str, low: int, high: int) -> AfterValidator:
    """A query value read by the strict integer reader; a refusal is a field error."""

    def check(value: str) -> str:
        try:
            parsing.integer_text(value, what, low=low, high=high)
        except InvalidInput as error:
            raise ValueError(str(error).split(": ", 1)[-1]) from None
        return value

    return AfterValidator(check)


Sample = Annotated[
    Annotated[str, Field(max_length=12), _whole_number("sample", 1, projection_check.MAX_SAMPLE)]
    | None,
    Query(description="Check N loans drawn at random (default: every loan)"),
]
Seed = Annotated[
    Annotated[str, Field(max_length=12), _whole_number("seed", 0, projection_check.MAX_SEED)]
    | None,
    Query(description="With sample: the seed, to draw the same loans again"),
]
LoanQuery = Annotated[
    str | None,
    Query(
        pattern=LOAN_PATH_PATTERN, max_length=64, description="Only this loan (reference or UUID)"
    ),
]


def read_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ledger, anyone, caught_up, moment = ctx.ledger, ctx.anyone, ctx.caught_up, ctx.moment
    read_models = ctx.read_models

    # ------------------------------------------------------------------ reads

    @router.post("/loans/{loan_id}/prepayments/quote", tags=["reads"])
    def quote(loan_id: LoanId, body: Prepayment, key: ApiKey = anyone) -> Any:
        amount = _prepay_amount(body)
        loan, q = ledger.prepay(
            loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan), quote_only=True
        )
        return views.prepayment(loan, q, executed=False)

    @router.get("/loans/{loan_id}", tags=["reads"])
    def show(
        loan_id: LoanId,
        key: ApiKey = anyone,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Any:
        if known_at is not None or as_of is not None:
            day = day_of(as_of) if as_of is not None else None
            return views.loan_state(
                audit.loan_at(ledger, loan_id, as_of=day, known_at=moment(known_at)), day
            )
        projections = caught_up(["balances"])
        row = projections.balances.read(loan_id_for(loan_id))
        if row is None:
            raise NotFound(f"unknown loan {loan_id}")
        return balances_view.shown(row)

    @router.get("/loans/{loan_id}/schedule", tags=["reads"])
    def schedule(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        projections = caught_up(["schedule"])
        rows = projections.schedule.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        return [schedule_view.shown(r) for r in rows]

    @router.get("/loans/{loan_id}/statements/{month}", tags=["reads"])
    def statement(
        loan_id: LoanId,
        month: Month,
        key: ApiKey = anyone,
    ) -> Any:
        projections = caught_up(["statements"])
        rows = projections.statements.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        chosen = [r for r in rows if r["month"] == month]
        if not chosen:
            raise NotFound(f"loan {loan_id} has no statement for {month}")
        return {"loan_id": loan_id, **statements_view.shown(chosen[0])}

    @router.get("/loans/{loan_id}/events", tags=["reads"])
    def events(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return views.events(ledger.loan_events(loan_id))

    @router.get("/portfolio", tags=["reads"])
    def portfolio(key: ApiKey = anyone, as_of: AsOf = None) -> Any:
        day = day_of(as_of) if as_of is not None else None
        projections = caught_up(["portfolio"])
        last = projections.portfolio.last_business_day()
        if day is not None and (last is None or day > last):
            raise CommandRefused(f"as_of {day}: the book has run only through {last}")
        return projections.portfolio.report(day)

    @router.get("/projections", tags=["reads"])
    def projection_status(key: ApiKey = anyone) -> Any:
        return [s.as_dict() for s in read_models.status()]

    @router.get("/status", tags=["reads"])
    def worker_status(key: ApiKey = anyone) -> Any:
        """Never fails: a part that cannot be computed says so and the rest is answered."""
        from ledger.read.status import status_report

        today = ledger.business_date.today()
        try:
            report: dict[str, Any] = status_report(ledger, today.day)
        except Exception as error:
            report = {"business_today": today.day.isoformat(), "error": one_line(error)}
        return {**report, "business_date": today.as_dict()}

    return router


def audit_routes(ctx: ApiContext) -> APIRouter:
    """Explain, verify, what-if and the dispute report (operators and auditors)."""
    router = APIRouter()
    ledger, anyone, moment, caps = ctx.ledger, ctx.anyone, ctx.moment, ctx.caps

    @router.get("/loans/{loan_id}/explain", tags=["audit"])
    def explain(
        loan_id: LoanId,
        key: ApiKey = anyone,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Any:
        day = day_of(as_of) if as_of is not None else None
        return explain_loan(ledger, loan_id, as_of=day, known_at=moment(known_at))

    @router.get("/loans/{loan_id}/verify", tags=["audit"])
    def verify(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return audit.verify_loan(ledger, loan_id).as_dict()

    @router.get("/audit/checkpoints", tags=["audit"])
    def checkpoints(key: ApiKey = anyone) -> Any:
        """Every daily checkpoint (each loan's chain head anchored and sealed), as
        ``ledger audit checkpoint export`` writes them, and what is wrong with their seals,
        their chain or the anchors (``"clean": false`` then). Writes nothing."""
        problems = integrity.checkpoint_problems(ledger)
        rows = [json.loads(line) for line in integrity.export_lines(ledger)]
        return {"checkpoints": rows, "clean": not problems, "problems": problems}

    @router.get("/audit/projections", tags=["audit"])
    def verify_projections(
        key: ApiKey = anyone, sample: Sample = None, seed: Seed = None, loan: LoanQuery = None
    ) -> Any:
        """The stored read models (balances, schedule, statements, portfolio) compared with
        the same projections recomputed in memory from the events, up to each projection's
        position: every difference (projection, loan, row, column, stored, recomputed), the
        loans behind the log or quarantined apart. ``"clean": false`` when a row differs.
        Writes nothing."""
        check = projection_check.verify_projections(
            ctx.read_models,
            loan=loan,
            sample=int(sample) if sample is not None else None,
            seed=int(seed) if seed is not None else None,
        )
        return check.as_dict()

    @router.post("/loans/{loan_id}/what-if", tags=["audit"])
    def what_if(loan_id: LoanId, body: WhatIf, key: ApiKey = anyone) -> Any:
        return audit.what_if(ledger, loan_id, dict(body.set))

    @router.get("/loans/{loan_id}/report", tags=["audit"], response_model=None)
    def report(
        loan_id: str, key: ApiKey = anyone, format: Literal["json", "md", "html"] = "json"
    ) -> Any:
        from ledger.read import report as reports
        from ledger.read import report_render

        data = reports.build(ledger, loan_id, caps)
        if format == "html":
            return HTMLResponse(report_render.html_page(data))
        if format == "md":
            return PlainTextResponse(report_render.markdown(data), media_type="text/markdown")
        return data

    return router
