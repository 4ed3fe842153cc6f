"""The HTTP API's reads and audits (operators and auditors)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
)
from pydantic import AfterValidator, Field

from api.context import ApiContext
from api.inputs import (
    DEFAULT_LIMIT,
    LOAN_PATH_PATTERN,
    After,
    AsOf,
    DaysPastDueFilter,
    KnownAt,
    Limit,
    LoanId,
    Month,
    Prepayment,
    ProductFilter,
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
    ProjectionStatus,
    ScheduleRow,
    Statement,
    Status,
)
from api.models_audit import (
    Checkpoints,
    Explanation,
    ProjectionsCheck,
    Report,
    Verification,
    WhatIfAnswer,
)
from api.problems import ON_A_LOAN, READ, problem_responses
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
from projections import loan_list
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

    # ------------------------------------------------------------------ reads

    @router.post(
        "/loans/{loan_id}/prepayments/quote",
        tags=["reads"],
        response_model=PrepaymentAnswer,
        response_model_exclude_unset=True,
        response_description="What the prepayment would take (`executed: false`); "
        "nothing is written",
        responses=problem_responses(*READ, *ON_A_LOAN, 413),
    )
    def quote(loan_id: LoanId, body: Prepayment, key: ApiKey = anyone) -> Any:
        amount = _prepay_amount(body)
        loan, q = ledger.prepay(
            loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan), quote_only=True
        )
        return views.prepayment(loan, q, executed=False)

    @router.get(
        "/loans/{loan_id}",
        tags=["reads"],
        response_model=LoanFigures,
        response_model_exclude_unset=True,
        response_description="The loan's balance: now (from the balances projection), or at "
        "the end of business day `as_of`, or as it was known at `known_at`",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
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

    @router.get(
        "/loans/{loan_id}/schedule",
        tags=["reads"],
        response_model=list[ScheduleRow],
        response_description="Every installment, in order",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
    def schedule(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        projections = caught_up(["schedule"])
        rows = projections.schedule.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        return [schedule_view.shown(r) for r in rows]

    @router.get(
        "/loans/{loan_id}/statements/{month}",
        tags=["reads"],
        response_model=Statement,
        response_description="The statement of the cycle whose due date falls in `month`",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
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

    @router.get(
        "/loans/{loan_id}/events",
        tags=["reads"],
        response_model=list[Event],
        response_description="Every event of the loan, in order, with its data as recorded",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
    def events(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return views.events(ledger.loan_events(loan_id))

    return router


def book_routes(ctx: ApiContext) -> APIRouter:
    """The book: its loans a page at a time, the portfolio, the projections, the status."""
    router = APIRouter()
    ledger, anyone, caught_up = ctx.ledger, ctx.anyone, ctx.caught_up
    read_models = ctx.read_models

    @router.get(
        "/loans",
        tags=["reads"],
        response_model=LoanPage,
        response_model_exclude_unset=True,
        response_description="A page of loans (each as `GET /loans/{loan_id}` shows it), "
        "ordered by reference, and how many match in all",
        responses={
            200: {
                "headers": {
                    "Link": {
                        "description": 'The next page, `<...>; rel="next"`, when there is one',
                        "schema": {"type": "string"},
                    }
                }
            },
            **problem_responses(*READ),
        },
    )
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
        """The book's loans, filtered, a page at a time: pass a page's `next_after` as
        `after` for the next one (the `Link` header names it), stable while loans are added."""
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

    @router.get(
        "/portfolio",
        tags=["reads"],
        response_model=Portfolio,
        response_description="The book at the end of business day `as_of` (default: the "
        "last one run)",
        responses=problem_responses(*READ),
    )
    def portfolio(key: ApiKey = anyone, as_of: AsOf = None) -> Any:
        day = day_of(as_of) if as_of is not None else None
        projections = caught_up(["portfolio"])
        last = projections.portfolio.last_business_day()
        if day is not None and (last is None or day > last):
            raise CommandRefused(f"as_of {day}: the book has run only through {last}")
        return projections.portfolio.report(day)

    @router.get(
        "/projections",
        tags=["reads"],
        response_model=list[ProjectionStatus],
        response_description="Each read model's position in the event log",
        responses=problem_responses(401, 503),
    )
    def projection_status(key: ApiKey = anyone) -> Any:
        return [s.as_dict() for s in read_models.status()]

    @router.get(
        "/status",
        tags=["reads"],
        response_model=Status,
        response_model_exclude_unset=True,
        response_description="The business date, loans by status, the projections, the "
        "worker partitions",
        responses=problem_responses(401),
    )
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

    @router.get(
        "/loans/{loan_id}/explain",
        tags=["audit"],
        response_model=Explanation,
        response_model_exclude_unset=True,
        response_description="Every figure of the balance broken into the events that built it",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
    def explain(
        loan_id: LoanId,
        key: ApiKey = anyone,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Any:
        day = day_of(as_of) if as_of is not None else None
        return explain_loan(ledger, loan_id, as_of=day, known_at=moment(known_at))

    @router.get(
        "/loans/{loan_id}/verify",
        tags=["audit"],
        response_model=Verification,
        response_description="The loan's hash chain, integrity and replay checked",
        responses=problem_responses(*READ, *ON_A_LOAN),
    )
    def verify(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return audit.verify_loan(ledger, loan_id).as_dict()

    @router.get(
        "/audit/checkpoints",
        tags=["audit"],
        response_model=Checkpoints,
        response_description="The daily checkpoints and what is wrong with them",
        responses=problem_responses(401, 503),
    )
    def checkpoints(key: ApiKey = anyone) -> Any:
        """Every daily checkpoint (each loan's chain head anchored and sealed), as
        ``ledger audit checkpoint export`` writes them, and what is wrong with their seals,
        their chain or the anchors (``"clean": false`` then). Writes nothing."""
        problems = integrity.checkpoint_problems(ledger)
        rows = [json.loads(line) for line in integrity.export_lines(ledger)]
        return {"checkpoints": rows, "clean": not problems, "problems": problems}

    @router.get(
        "/audit/projections",
        tags=["audit"],
        response_model=ProjectionsCheck,
        response_model_exclude_unset=True,
        response_description="The stored read models compared with the events",
        responses=problem_responses(*READ),
    )
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

    @router.post(
        "/loans/{loan_id}/what-if",
        tags=["audit"],
        response_model=WhatIfAnswer,
        response_description="Charged against what other terms would have charged; nothing "
        "is written",
        responses=problem_responses(*READ, *ON_A_LOAN, 413),
    )
    def what_if(loan_id: LoanId, body: WhatIf, key: ApiKey = anyone) -> Any:
        return audit.what_if(ledger, loan_id, dict(body.set))

    @router.get(
        "/loans/{loan_id}/report",
        tags=["audit"],
        response_model=Report,
        response_model_exclude_unset=True,
        response_description="The dispute report: JSON, or Markdown (`format=md`) or an HTML "
        "page (`format=html`)",
        responses={
            200: {
                "content": {
                    "text/markdown": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                }
            },
            **problem_responses(*READ, *ON_A_LOAN),
        },
    )
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
