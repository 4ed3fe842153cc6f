"""The ledger as an HTTP service (FastAPI): ``ledger serve``.

Thin: every endpoint authenticates the caller, then calls the same application services as the
CLI and returns the same JSON (amounts as two-decimal strings, ISO dates). Errors are RFC 9457
problem details (``application/problem+json``) with a one-line ``detail``; every bad input is a
4xx and a refused command writes no event. Commands take an ``Idempotency-Key`` header.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import Cookie, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import ui
from api.idempotency import IdempotencyConflict, IdempotencyStore
from api.inputs import (
    LOAN_PATH_PATTERN,
    IsoDate,
    OpenLoan,
    Prepayment,
    Repayment,
    Reversal,
    Waiver,
    WhatIf,
    amount_of,
    day_of,
)
from api.keys import ApiKey, find
from api.problems import PROBLEM, Problem, is_transient, problem, refusal
from ledger import audit, parsing, views
from ledger.application import LedgerApp, loan_id_for
from ledger.config import RateCaps, one_line
from ledger.domain.actor import acting_as
from ledger.domain.errors import CommandRefused, LedgerError, NotFound
from ledger.domain.loan import Loan
from ledger.domain.terms import Replan
from ledger.explain import explain as explain_loan
from ledger.products import terms_from_input
from projections import Projections
from projections import balances as balances_view
from projections import schedule as schedule_view
from projections import statements as statements_view

COOKIE = "ledger_key"
OPERATOR = ("operator",)
ANYONE = ("operator", "auditor")
MAX_BODY_BYTES = 64 * 1024  # every command body is a few hundred bytes
LoanId = Annotated[
    str, PathParam(pattern=LOAN_PATH_PATTERN, max_length=64, description="Reference or UUID")
]
Month = Annotated[str, PathParam(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
AsOf = Annotated[IsoDate | None, Query(description="End of this business day")]
KnownAt = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Only what was recorded by this time: ISO 8601 with an offset; without "
        "one it is read in the business timezone",
    ),
]


# --------------------------------------------------------------------------- the app


def create_app(ledger: LedgerApp, keys: list[ApiKey], caps: RateCaps | None = None) -> FastAPI:
    app = FastAPI(
        title="Loan ledger",
        version="1",
        description="An event-sourced ledger for consumer loans. Amounts are strings with two "
        "decimals; dates ISO; errors RFC 9457 problem details. Authenticate with "
        "`Authorization: Bearer <key>` (roles: operator, auditor).",
    )
    lock = threading.Lock()  # commands one at a time (the store serialises writers anyway)
    idempotency = IdempotencyStore(ledger)
    read_models = Projections(ledger)  # made once: its tables, its projectors, their caches
    catching_up = threading.Lock()  # one request thread at a time moves the projectors

    def caught_up(names: list[str]) -> Projections:
        with catching_up:
            read_models.catch_up(names)
        return read_models

    caps = caps or RateCaps()

    def caller(
        required: tuple[str, ...],
    ) -> Callable[..., ApiKey]:
        def dependency(
            request: Request,
            authorization: Annotated[str | None, Header()] = None,
            x_api_key: Annotated[str | None, Header()] = None,
            ledger_key: Annotated[str | None, Cookie(include_in_schema=False)] = None,
        ) -> ApiKey:
            presented = x_api_key
            if authorization and authorization.lower().startswith("bearer "):
                presented = authorization[7:].strip()
            if not presented and required == ANYONE:
                presented = ledger_key  # the audit page's sign-in, for reads only
            if not presented:
                raise Problem(
                    401, "Unauthorized", "an API key is required (Authorization: Bearer <key>)"
                )
            key = find(keys, presented)
            if key is None:
                raise Problem(401, "Unauthorized", "unknown API key")
            request.state.caller = key.name
            if key.role not in required:
                raise Problem(
                    403,
                    "Forbidden",
                    f"the {key.role} role may not do this (needs {' or '.join(required)})",
                )
            return key

        return dependency

    operator = Depends(caller(OPERATOR))
    anyone = Depends(caller(ANYONE))

    @app.exception_handler(Problem)
    @app.exception_handler(LedgerError)
    @app.exception_handler(PersistenceError)
    @app.exception_handler(psycopg.Error)
    @app.exception_handler(sqlite3.Error)
    @app.exception_handler(Exception)
    def _refusal(request: Request, error: Exception) -> JSONResponse:
        return refusal(error, request.url.path)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """A body over :data:`MAX_BODY_BYTES` is refused before it is read or parsed."""
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return problem(
                413, "Body too large", f"a request body may hold at most {MAX_BODY_BYTES} bytes"
            )
        response: Response = await call_next(request)
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return problem(422, "Invalid request", f"{where}: {message}"[:300], request.url.path)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, "HTTP error", str(error.detail), request.url.path)

    def caller_name(request: Request) -> str:
        name = getattr(request.state, "caller", "")
        return f"api:{name}" if name else "api"

    def run_command(
        request: Request,
        key: str | None,
        body: BaseModel | None,
        action: Callable[[], tuple[int, Any]],
    ) -> JSONResponse:
        """Run a command once per Idempotency-Key: a retry gets the first answer."""
        if key is None:
            with lock, acting_as(caller_name(request)):
                status, payload = ledger.execute(action)
            return JSONResponse(payload, status_code=status)
        if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
            raise Problem(
                400, "Bad Idempotency-Key", "Idempotency-Key must be 1 to 200 printable ASCII"
            )
        fingerprint = IdempotencyStore.fingerprint(
            request.method, request.url.path, body.model_dump_json().encode() if body else b""
        )
        key = IdempotencyStore.scoped(getattr(request.state, "caller", ""), key)
        try:
            stored = idempotency.claim(key, fingerprint)
        except IdempotencyConflict as conflict:
            raise Problem(409, "Idempotency conflict", str(conflict)) from None
        if stored is not None:
            return JSONResponse(
                stored.body,
                status_code=stored.status,
                media_type=PROBLEM if stored.status >= 400 else None,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            # execute() stores the command's events only if every step succeeded: when it
            # raises, nothing was stored and the key may be released
            with lock, acting_as(caller_name(request)):
                status, payload = ledger.execute(action)
        except (LedgerError, Problem) as error:  # a refusal is an answer too
            response = refusal(error, request.url.path)
            if is_transient(response.status_code):
                idempotency.release(key)  # busy: a retry with the same key may succeed
            else:
                idempotency.answer(key, response.status_code, _json(response))
            return response
        except BaseException:
            idempotency.release(key)
            raise
        # the effect is stored: from here on the key is never released (if storing the
        # answer fails, a retry is told the request is still running, not run twice)
        idempotency.answer(key, status, payload)
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------------ commands

    @app.post("/loans", status_code=201, tags=["commands"])
    def open_loan(
        request: Request,
        body: OpenLoan,
        key: ApiKey = operator,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def action() -> tuple[int, Any]:
            fields = body.model_dump(exclude_none=True)
            reference = fields.pop("loan_id", None)
            terms = terms_from_input(**fields)
            opened = ledger.open_loan(terms, reference)
            return 201, views.loan_state(opened, terms.disbursed_on)

        return run_command(request, idempotency_key, body, action)

    @app.post("/loans/{loan_id}/repayments", tags=["commands"])
    def repay(
        request: Request,
        loan_id: LoanId,
        body: Repayment,
        key: ApiKey = operator,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def action() -> tuple[int, Any]:
            amount, on = amount_of(body.amount), day_of(body.on)
            if body.backdated:
                if not body.reason:
                    raise Problem(422, "Invalid request", "a back-dated repayment needs a reason")
                loan = ledger.repay_backdated(
                    loan_id, amount, on, actor=key.name, reason=body.reason
                )
                return 201, _correction(loan)
            if body.reason is not None:
                raise Problem(422, "Invalid request", "reason goes with backdated=true")
            loan, items = ledger.repay(loan_id, amount, on)
            return 201, views.repayment(loan, on, amount, items)

        return run_command(request, idempotency_key, body, action)

    @app.post("/loans/{loan_id}/prepayments", tags=["commands"])
    def prepay(
        request: Request,
        loan_id: LoanId,
        body: Prepayment,
        key: ApiKey = operator,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def action() -> tuple[int, Any]:
            amount = _prepay_amount(body)
            loan, quote = ledger.prepay(
                loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan)
            )
            return 201, views.prepayment(loan, quote, executed=True)

        return run_command(request, idempotency_key, body, action)

    @app.post("/loans/{loan_id}/reversals", tags=["commands"])
    def reverse(
        request: Request,
        loan_id: LoanId,
        body: Reversal,
        key: ApiKey = operator,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def action() -> tuple[int, Any]:
            loan = ledger.reverse(loan_id, body.event, actor=key.name, reason=body.reason)
            return 201, _correction(loan)

        return run_command(request, idempotency_key, body, action)

    @app.post("/loans/{loan_id}/waivers", tags=["commands"])
    def waive(
        request: Request,
        loan_id: LoanId,
        body: Waiver,
        key: ApiKey = operator,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def action() -> tuple[int, Any]:
            loan = ledger.waive(
                loan_id,
                part=body.part,
                amount=amount_of(body.amount),
                on=day_of(body.on) if body.on is not None else None,
                actor=key.name,
                reason=body.reason,
            )
            return 201, views.loan_state(loan)

        return run_command(request, idempotency_key, body, action)

    def _correction(loan: Loan) -> dict[str, Any]:
        """The correction just made, from the loan's unsaved events (before execute saves)."""
        return views.correction(loan, views.newest_pending(loan, Loan.Corrected))

    def moment(known_at: str | None) -> datetime | None:
        zone = ledger.business_date.zone
        return None if known_at is None else parsing.timestamp_text(known_at, "known_at", zone)

    # ------------------------------------------------------------------ reads

    @app.post("/loans/{loan_id}/prepayments/quote", tags=["reads"])
    def quote(loan_id: LoanId, body: Prepayment, key: ApiKey = anyone) -> Any:
        amount = _prepay_amount(body)
        loan, q = ledger.prepay(
            loan_id, day_of(body.on), amount=amount, replan=Replan(body.replan), quote_only=True
        )
        return views.prepayment(loan, q, executed=False)

    @app.get("/loans/{loan_id}", tags=["reads"])
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

    @app.get("/loans/{loan_id}/schedule", tags=["reads"])
    def schedule(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        projections = caught_up(["schedule"])
        rows = projections.schedule.read(loan_id_for(loan_id))
        if not rows:
            raise NotFound(f"unknown loan {loan_id}")
        return [schedule_view.shown(r) for r in rows]

    @app.get("/loans/{loan_id}/statements/{month}", tags=["reads"])
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

    @app.get("/loans/{loan_id}/events", tags=["reads"])
    def events(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return views.events(ledger.loan_events(loan_id))

    @app.get("/loans/{loan_id}/explain", tags=["audit"])
    def explain(
        loan_id: LoanId,
        key: ApiKey = anyone,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Any:
        day = day_of(as_of) if as_of is not None else None
        return explain_loan(ledger, loan_id, as_of=day, known_at=moment(known_at))

    @app.get("/loans/{loan_id}/verify", tags=["audit"])
    def verify(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        return audit.verify_loan(ledger, loan_id).as_dict()

    @app.post("/loans/{loan_id}/what-if", tags=["audit"])
    def what_if(loan_id: LoanId, body: WhatIf, key: ApiKey = anyone) -> Any:
        return audit.what_if(ledger, loan_id, dict(body.set))

    @app.get("/loans/{loan_id}/report", tags=["audit"], response_model=None)
    def report(
        loan_id: str, key: ApiKey = anyone, format: Literal["json", "md", "html"] = "json"
    ) -> Any:
        from ledger import report as reports
        from ledger import report_render

        data = reports.build(ledger, loan_id, caps)
        if format == "html":
            return HTMLResponse(report_render.html_page(data))
        if format == "md":
            return PlainTextResponse(report_render.markdown(data), media_type="text/markdown")
        return data

    # ------------------------------------------------------------------ the audit page

    def browser_caller(request: Request) -> ApiKey | None:
        presented = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        return find(keys, presented) if presented else None

    @app.get("/ui/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(ui.login_page())

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        presented = (form.get("key") or [""])[0].strip()
        if find(keys, presented) is None:
            return HTMLResponse(ui.login_page("Unknown API key."), status_code=401)
        response = RedirectResponse("/ui/portfolio", status_code=303)
        response.set_cookie(COOKIE, presented, httponly=True, samesite="strict", secure=True)
        return response

    @app.get("/ui/loans/{loan_id}", include_in_schema=False)
    def loan_ui(request: Request, loan_id: LoanId) -> Response:
        if browser_caller(request) is None:
            return RedirectResponse("/ui/login", status_code=303)
        loan = ledger.get_loan(loan_id)
        projections = caught_up(["schedule"])
        rows = [schedule_view.shown(r) for r in projections.schedule.read(loan.id)]
        recorded = ledger.loan_events(loan_id)
        return HTMLResponse(ui.loan_page(loan, recorded, views.loan_state(loan), rows))

    @app.get("/ui/portfolio", include_in_schema=False)
    def portfolio_ui(request: Request) -> Response:
        if browser_caller(request) is None:
            return RedirectResponse("/ui/login", status_code=303)
        projections = caught_up(["portfolio"])
        return HTMLResponse(ui.portfolio_page(projections.portfolio.report()))

    @app.get("/portfolio", tags=["reads"])
    def portfolio(key: ApiKey = anyone, as_of: AsOf = None) -> Any:
        day = day_of(as_of) if as_of is not None else None
        projections = caught_up(["portfolio"])
        last = projections.portfolio.last_business_day()
        if day is not None and (last is None or day > last):
            raise CommandRefused(f"as_of {day}: the book has run only through {last}")
        return projections.portfolio.report(day)

    @app.get("/projections", tags=["reads"])
    def projection_status(key: ApiKey = anyone) -> Any:
        return [s.as_dict() for s in read_models.status()]

    @app.get("/status", tags=["reads"])
    def worker_status(key: ApiKey = anyone) -> Any:
        """Never fails: a part that cannot be computed says so and the rest is answered."""
        from ledger.cli_worker import status_report

        today = ledger.business_date.today()
        try:
            report: dict[str, Any] = status_report(ledger, today.day)
        except Exception as error:
            report = {"business_today": today.day.isoformat(), "error": one_line(error)}
        return {**report, "business_date": today.as_dict()}

    return app


def _prepay_amount(body: Prepayment) -> Any:
    if body.full == (body.amount is not None):
        raise Problem(422, "Invalid request", "give exactly one of full=true and amount")
    return amount_of(body.amount) if body.amount is not None else None


def _json(response: JSONResponse) -> Any:
    import json

    return json.loads(bytes(response.body))
