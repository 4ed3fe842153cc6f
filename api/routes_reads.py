"""The HTTP API's reads and audits (operators and auditors)."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
)

from api.context import ApiContext
from api.inputs import (
    DEFAULT_LIMIT,
    After,
    AsOf,
    DaysPastDueFilter,
    KnownAt,
    Limit,
    LoanId,
    LoanQuery,
    Month,
    Prepayment,
    ProductFilter,
    Sample,
    Seed,
    StatusFilter,
    WhatIf,
    day_of,
)
from api.models import (
    Event,
    LoanFigures,
    LoanPage,
    Portfolio,
    PrepaymentAnswer,
    ScheduleRow,
    Statement,
)
from api.models_audit import (
    Checkpoints,
    Explanation,
    ProjectionsCheck,
    Report,
    Verification,
    WhatIfAnswer,
)
from api.models_status import ProjectionStatus, Status
from api.problems import LOAN_QUERY, LOAN_READ, READ, Operations
from api.routes_commands import _prepay_amount
from ledger.adapters.api_keys import ApiKey
from ledger.adapters.config import one_line
from ledger.domain.errors import CommandRefused, InvalidInput, NotFound
from ledger.domain.terms import Replan
from ledger.read import views
from ledger.services import audit, integrity
from ledger.services.application import loan_id_for
from ledger.services.explain import explain as explain_loan
from projections import balances as balances_view
from projections import loan_list
from projections import schedule as schedule_view
from projections import statements as statements_view
from projections import verify as projection_check

NEXT_PAGE = {
    "headers": {
        "Link": {
            "description": 'The next page, `<...>; rel="next"`, when there is one',
            "schema": {"type": "string"},
        }
    }
}
REPORT_FORMATS = {
    "content": {
        "text/markdown": {"schema": {"type": "string"}},
        "text/html": {"schema": {"type": "string"}},
    }
}


def read_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "reads")
    ledger, anyone, caught_up, moment = ctx.ledger, ctx.anyone, ctx.caught_up, ctx.moment

    # ------------------------------------------------------------------ reads

    @ops.post("/loans/{loan_id}/prepayments/quote", PrepaymentAnswer, "The quote", LOAN_QUERY)
    def quote(loan_id: LoanId, body: Prepayment, key: ApiKey = anyone) -> Any:
        """What the prepayment would take (`executed: false`); nothing is written."""
        amount = _prepay_amount(body)
        loan, q = ledger.prepay(
            loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan), quote_only=True
        )
        return views.prepayment(loan, q, executed=False)

    @ops.get("/loans/{loan_id}", LoanFigures, "The loan's balance", LOAN_READ)
    def show(
        loan_id: LoanId, key: ApiKey = anyone, as_of: AsOf = None, known_at: KnownAt = None
    ) -> Any:
        """The loan's balance: now (from the balances projection), at the end of business
        day `as_of`, or as it was known at `known_at`."""
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

    @ops.get("/loans/{loan_id}/schedule", list[ScheduleRow], "Its installments", LOAN_READ)
    def schedule(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        projections = caught_up(["schedule"])
        rows = projections.schedule.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        return [schedule_view.shown(r) for r in rows]

    @ops.get("/loans/{loan_id}/statements/{month}", Statement, "The statement", LOAN_READ)
    def statement(loan_id: LoanId, month: Month, key: ApiKey = anyone) -> Any:
        """The statement of the cycle whose due date falls in `month`."""
        projections = caught_up(["statements"])
        rows = projections.statements.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        chosen = [r for r in rows if r["month"] == month]
        if not chosen:
            raise NotFound(f"loan {loan_id} has no statement for {month}")
        return {"loan_id": loan_id, **statements_view.shown(chosen[0])}

    @ops.get("/loans/{loan_id}/events", list[Event], "Its events, in order", LOAN_READ)
    def events(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        """Every event of the loan, in order, with its data as recorded."""
        return views.events(ledger.loan_events(loan_id))

    return router


def book_routes(ctx: ApiContext) -> APIRouter:
    """The book: its loans a page at a time, the portfolio, the projections, the status."""
    router = APIRouter()
    ops = Operations(router, "reads")
    ledger, anyone, caught_up = ctx.ledger, ctx.anyone, ctx.caught_up
    read_models = ctx.read_models

    @ops.get("/loans", LoanPage, "A page of loans", READ, success=NEXT_PAGE)
    def loans(
        request: Request,
        response: Response,
        key: ApiKey = anyone,
        status: StatusFilter = None,
        product: ProductFilter = None,
        min_days_past_due: DaysPastDueFilter = None,
        after: After = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Any:
        """The book's loans, filtered, a page at a time, by reference (each as
        `GET /loans/{loan_id}` shows it), and how many match in all. Pass a page's
        `next_after` as `after` for the next one (the `Link` header names it): stable while
        loans are added."""
        which = loan_list.LoanFilter(status, product, min_days_past_due)
        projections = caught_up(["balances"])
        try:
            page = loan_list.list_loans(projections.balances, which, after=after, limit=limit)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        if page.next_after is not None:
            following = request.url.include_query_params(after=page.next_after)
            response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
        return {
            "loans": [balances_view.shown(row) for row in page.rows],
            "total": page.total,
            "next_after": page.next_after,
        }

    @ops.get("/portfolio", Portfolio, "The book", READ)
    def portfolio(key: ApiKey = anyone, as_of: AsOf = None) -> Any:
        """The book at the end of business day `as_of` (default: the last one run)."""
        day = day_of(as_of) if as_of is not None else None
        projections = caught_up(["portfolio"])
        last = projections.portfolio.last_business_day()
        if day is not None and (last is None or day > last):
            raise CommandRefused(f"as_of {day}: the book has run only through {last}")
        return projections.portfolio.report(day)

    @ops.get("/projections", list[ProjectionStatus], "Each read model's position", (401, 503))
    def projection_status(key: ApiKey = anyone) -> Any:
        return [s.as_dict() for s in read_models.status()]

    @ops.get("/status", Status, "The status of the book", (401,))
    def worker_status(key: ApiKey = anyone) -> Any:
        """The business date, loans by status, the projections, the worker partitions.
        Never fails: a part that cannot be computed says so and the rest is answered."""
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
    ops = Operations(router, "audit")
    ledger, anyone, moment, caps = ctx.ledger, ctx.anyone, ctx.moment, ctx.caps

    @ops.get("/loans/{loan_id}/explain", Explanation, "The balance explained", LOAN_READ)
    def explain(
        loan_id: LoanId, key: ApiKey = anyone, as_of: AsOf = None, known_at: KnownAt = None
    ) -> Any:
        """Every figure of the balance broken into the events that built it."""
        day = day_of(as_of) if as_of is not None else None
        return explain_loan(ledger, loan_id, as_of=day, known_at=moment(known_at))

    @ops.get("/loans/{loan_id}/verify", Verification, "The loan checked", LOAN_READ)
    def verify(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        """The loan's hash chain, integrity (anchors, snapshots) and replay checked."""
        return audit.verify_loan(ledger, loan_id).as_dict()

    @ops.post("/loans/{loan_id}/what-if", WhatIfAnswer, "What other terms give", LOAN_QUERY)
    def what_if(loan_id: LoanId, body: WhatIf, key: ApiKey = anyone) -> Any:
        """Charged against what other terms would have charged; nothing is written."""
        return audit.what_if(ledger, loan_id, dict(body.set))

    @ops.get("/loans/{loan_id}/report", Report, "The report", LOAN_READ, success=REPORT_FORMATS)
    def report(
        loan_id: str, key: ApiKey = anyone, format: Literal["json", "md", "html"] = "json"
    ) -> Any:
        """The dispute report: JSON, Markdown (`format=md`) or an HTML page (`format=html`)."""
        from ledger.read import report as reports
        from ledger.read import report_render

        data = reports.build(ledger, loan_id, caps)
        if format == "html":
            return HTMLResponse(report_render.html_page(data))
        if format == "md":
            return PlainTextResponse(report_render.markdown(data), media_type="text/markdown")
        return data

    return router


def check_routes(ctx: ApiContext) -> APIRouter:
    """The checks of the whole book: its checkpoints and its projections."""
    router = APIRouter()
    ops = Operations(router, "audit")
    ledger = ctx.ledger

    @ops.get("/audit/checkpoints", Checkpoints, "The checkpoints checked", (401, 503))
    def checkpoints(key: ApiKey = ctx.anyone) -> Any:
        """Every daily checkpoint (each loan's chain head anchored and sealed), as
        ``ledger audit checkpoint export`` writes them, and what is wrong with their seals,
        their chain or the anchors (``"clean": false`` then). Writes nothing."""
        problems = integrity.checkpoint_problems(ledger)
        rows = [json.loads(line) for line in integrity.export_lines(ledger)]
        return {"checkpoints": rows, "clean": not problems, "problems": problems}

    @ops.get("/audit/projections", ProjectionsCheck, "The projections checked", READ)
    def verify_projections(
        key: ApiKey = ctx.anyone, sample: Sample = None, seed: Seed = None, loan: LoanQuery = None
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

    return router
