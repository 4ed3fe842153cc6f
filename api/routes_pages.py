"""The audit page: server-rendered HTML for people, signed in with a key in a cookie."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from api import ui
from api.context import ApiContext
from api.inputs import (
    LoanId,
)
from ledger.adapters.api_keys import ApiKey, find
from ledger.read import views
from projections import schedule as schedule_view

COOKIE = "ledger_key"


def page_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ledger, keys, caught_up = ctx.ledger, ctx.keys, ctx.caught_up

    # ------------------------------------------------------------------ the audit page

    def browser_caller(request: Request) -> ApiKey | None:
        presented = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        return find(keys, presented) if presented else None

    @router.get("/ui/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(ui.login_page())

    @router.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        presented = (form.get("key") or [""])[0].strip()
        if find(keys, presented) is None:
            return HTMLResponse(ui.login_page("Unknown API key."), status_code=401)
        response = RedirectResponse("/ui/portfolio", status_code=303)
        response.set_cookie(COOKIE, presented, httponly=True, samesite="strict", secure=True)
        return response

    @router.get("/ui/loans/{loan_id}", include_in_schema=False)
    def loan_ui(request: Request, loan_id: LoanId) -> Response:
        if browser_caller(request) is None:
            return RedirectResponse("/ui/login", status_code=303)
        loan = ledger.get_loan(loan_id)
        projections = caught_up(["schedule"])
        rows = [schedule_view.shown(r) for r in projections.schedule.read(loan.id)]
        recorded = ledger.loan_events(loan_id)
        return HTMLResponse(ui.loan_page(loan, recorded, views.loan_state(loan), rows))

    @router.get("/ui/portfolio", include_in_schema=False)
    def portfolio_ui(request: Request) -> Response:
        if browser_caller(request) is None:
            return RedirectResponse("/ui/login", status_code=303)
        projections = caught_up(["portfolio"])
        return HTMLResponse(ui.portfolio_page(projections.portfolio.report()))

    return router
