"""The audit pages: server-rendered HTML for people, signed in with a key in a cookie.

A page asked for without signing in sends the browser to ``/ui/login?next=<the page>`` and,
once signed in, back to it (only a local ``/ui/`` path is followed: never another site). Every
error on a ``/ui/`` route is an HTML page with a readable message and the status the HTTP API
would answer (:func:`api.problems.refusal`), never a JSON body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import ui
from api.context import ApiContext
from api.problems import refusal
from api.ui_loan import loan_page
from api.ui_portfolio import ListQuery, portfolio_page
from ledger.adapters.api_keys import ApiKey, find
from ledger.adapters.config import chart_of_accounts
from ledger.domain.errors import CommandRefused, InvalidInput
from ledger.domain.terms import PRESETS
from ledger.read import accounting, views
from ledger.read import approvals as approval_views
from ledger.services import disputes, parsing
from projections import schedule as schedule_view
from projections.loan_list import MAX_PAGE, STATUSES, LoanFilter, list_loans

COOKIE = "ledger_key"
HOME = "/ui/portfolio"
log = logging.getLogger(__name__)


def local_next(value: str | None) -> str | None:
    """``value`` if it is a page of this site's audit UI to return to after signing in, else
    ``None``: only a path starting with ``/ui/`` (no scheme, no host, no ``//``, no
    backslash, no ``..``, printable ASCII), and not the sign-in or sign-out pages."""
    if not value or len(value) > 2000 or not value.isascii() or not value.isprintable():
        return None
    if not value.startswith("/ui/") or any(bad in value for bad in ("//", "\\", "..", " ")):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/ui/login", "/ui/logout")):
        return None
    return value


def error_response(request: Request, error: Exception, *, signed_in: bool = True) -> Response:
    """The error as an HTML page, with the status and title the API gives it."""
    answer = refusal(error, request.url.path)
    problem = json.loads(bytes(answer.body))
    if answer.status_code >= 500:
        log.error("ui %s: %s", request.url.path, problem["detail"], exc_info=error)
    headers = {k: v for k, v in answer.headers.items() if k.lower() == "retry-after"}
    return HTMLResponse(
        ui.error_page(answer.status_code, problem["title"], problem["detail"], signed_in=signed_in),
        status_code=answer.status_code,
        headers=headers,
    )


def not_found(request: Request, signed_in: bool) -> Response:
    detail = f"there is no page at {request.url.path}"
    return HTMLResponse(
        ui.error_page(404, "Not found", detail, signed_in=signed_in), status_code=404
    )


def _optional(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def list_query(request: Request) -> ListQuery:
    """The portfolio page's query, read by the ledger's strict readers."""
    as_of, status, product = (_optional(request, n) for n in ("as_of", "status", "product"))
    after, limit = _optional(request, "after"), _optional(request, "limit")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    return ListQuery(
        as_of=parsing.date_text(as_of, "as_of") if as_of else None,
        status=status,
        product=parsing.text(product, "product") if product else None,
        after=parsing.text(after, "after") if after else None,
        limit=parsing.integer_text(limit, "limit", low=1, high=MAX_PAGE) if limit else 50,
    )


def session_routes(router: APIRouter, ctx: ApiContext) -> None:
    """Sign in (returning to the page asked for) and sign out."""
    keys = ctx.keys

    @router.get("/ui/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        note = "You are signed out." if request.query_params.get("signed_out") else ""
        return HTMLResponse(ui.login_page(note, local_next(_optional(request, "next")) or ""))

    @router.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        presented = (form.get("key") or [""])[0].strip()
        target = local_next((form.get("next") or [""])[0])
        if find(keys, presented) is None:
            page = ui.login_page("Unknown API key.", target or "")
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse(target or HOME, status_code=303)
        response.set_cookie(COOKIE, presented, httponly=True, samesite="strict", secure=True)
        return response

    @router.post("/ui/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/ui/login?signed_out=1", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=True)
        return response

    @router.get("/ui/logout", include_in_schema=False)
    def logout_form() -> HTMLResponse:
        body = "<form method=post action='/ui/logout'><button type=submit>Sign out</button></form>"
        return HTMLResponse(ui.page("Sign out", body))


def page_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ledger, keys, caught_up = ctx.ledger, ctx.keys, ctx.caught_up

    def browser_caller(request: Request) -> ApiKey | None:
        presented = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        return find(keys, presented) if presented else None

    def signed_in_page(request: Request, render: Callable[[], str]) -> Response:
        """The page ``render`` draws, for a signed-in browser; else to the sign-in page."""
        if browser_caller(request) is None:
            asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(ui.login_url(local_next(asked) or HOME), status_code=303)
        try:
            return HTMLResponse(render())
        except Exception as error:
            return error_response(request, error)

    session_routes(router, ctx)

    @router.get("/ui", include_in_schema=False)
    @router.get("/ui/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse(HOME, status_code=303)

    @router.get("/ui/loans/{loan_id}", include_in_schema=False)
    def loan_ui(request: Request, loan_id: str) -> Response:
        def render() -> str:
            reference = parsing.loan_reference(loan_id, "loan id")
            loan = ledger.get_loan(reference)
            projections = caught_up(["schedule"])
            rows = [schedule_view.shown(r) for r in projections.schedule.read(loan.id)]
            recorded = ledger.loan_events(reference)
            cases = disputes.cases_of_loan(ledger, loan.id)
            requests = approval_views.of_loan(ledger, str(loan.id))
            return loan_page(loan, recorded, views.loan_state(loan), rows, cases, requests)

        return signed_in_page(request, render)

    @router.get("/ui/loans/{loan_id}/postings", include_in_schema=False)
    def postings_ui(request: Request, loan_id: str) -> Response:
        def render() -> str:
            reference = parsing.loan_reference(loan_id, "loan id")
            loan = ledger.get_loan(reference)
            rows = accounting.postings_of(caught_up(["journal"]), loan.id, chart_of_accounts())
            columns = ["version", "date", "event", "account", "debit", "credit", "rule"]
            body = (
                f"<p><a href='/ui/loans/{ui.e(loan.label)}'>Back to the loan</a>. Each posting "
                "of the loan's events on the chart of accounts, with the rule behind it "
                "(docs/accounting.md).</p>"
                + ui.table(columns, [[r[c] for c in columns] for r in rows], ident="postings")
            )
            return ui.page(f"Postings of loan {loan.label}", body)

        return signed_in_page(request, render)

    @router.get("/ui/portfolio", include_in_schema=False)
    def portfolio_ui(request: Request) -> Response:
        def render() -> str:
            asked = list_query(request)
            projections = caught_up(["portfolio", "balances"])
            last = projections.portfolio.last_business_day()
            if asked.as_of is not None and (last is None or asked.as_of > last):
                ran = f"only through {last}; choose a day up to it" if last else "no day yet"
                raise CommandRefused(f"as_of {asked.as_of}: the book has run {ran}")
            report = projections.portfolio.report(asked.as_of)
            try:
                which = LoanFilter(status=asked.status, product=asked.product)
                loans = list_loans(
                    projections.balances, which, after=asked.after, limit=asked.limit
                )
            except ValueError as error:
                raise InvalidInput(str(error)) from None
            return portfolio_page(report, loans, asked, _products(report, asked))

        return signed_in_page(request, render)

    @router.api_route(
        "/ui/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown_page(request: Request, rest: str) -> Response:
        return not_found(request, browser_caller(request) is not None)

    return router


def _products(report: dict[str, object], asked: ListQuery) -> list[str]:
    known = set(PRESETS)
    by_product = report.get("by_product")
    if isinstance(by_product, list):
        known |= {str(r["product"]) for r in by_product}
    if asked.product:
        known.add(asked.product)
    return sorted(known)
