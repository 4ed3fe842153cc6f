"""The ledger as an HTTP service (FastAPI): ``ledger serve``.

Thin: every endpoint authenticates the caller, then calls the same application services as the
CLI and returns the same JSON (amounts as two-decimal strings, ISO dates). Errors are RFC 9457
problem details (``application/problem+json``) with a one-line ``detail``, their status chosen
by the error's type (:mod:`api.problems`); every bad input is a 4xx and a refused command
writes no event. Commands take an ``Idempotency-Key`` header (:mod:`api.context`). The routes
live in :mod:`api.routes_commands`, :mod:`api.routes_reads` and :mod:`api.routes_pages`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.context import ApiContext
from api.models import Problem as ProblemBody
from api.problems import MAX_BODY_BYTES, Problem, problem, refusal
from api.routes_accounting import accounting_routes
from api.routes_approvals import approval_routes
from api.routes_commands import command_routes, correction_routes
from api.routes_disputes import dispute_routes
from api.routes_exports import export_routes
from api.routes_gateway import gateway_routes
from api.routes_pages import page_routes
from api.routes_reads import audit_routes, book_routes, check_routes, read_routes
from api.routes_restructure import restructure_routes
from api.routes_write_off import write_off_routes
from ledger.adapters.api_keys import ApiKey
from ledger.adapters.config import FourEyes, RateCaps
from ledger.domain.errors import LedgerError
from ledger.services.application import LedgerApp

__all__ = ["MAX_BODY_BYTES", "create_app"]
DOCS_ASSETS = "/docs/assets"  # Swagger UI and ReDoc, from the fastapi-offline package


def create_app(
    ledger: LedgerApp,
    keys: list[ApiKey],
    caps: RateCaps | None = None,
    four_eyes: FourEyes | None = None,
) -> FastAPI:
    """The API; ``/docs`` (Swagger UI) and ``/redoc`` load only assets it serves itself."""
    app = FastAPIOffline(
        title="Loan ledger",
        version="1",
        description="An event-sourced ledger for consumer loans. Amounts are strings with two "
        "decimals; dates ISO; errors RFC 9457 problem details (`application/problem+json`). "
        "Authenticate with `Authorization: Bearer <key>` (roles: operator, approver, "
        "auditor). Commands take an `Idempotency-Key` header: a retry gets the first answer "
        "and writes nothing.",
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
    )
    ctx = ApiContext(ledger, keys, caps, four_eyes)
    _handle_errors(app)
    _document_problems(app)
    app.include_router(command_routes(ctx))
    app.include_router(correction_routes(ctx))
    app.include_router(write_off_routes(ctx))
    app.include_router(restructure_routes(ctx))
    app.include_router(read_routes(ctx))
    app.include_router(book_routes(ctx))
    app.include_router(audit_routes(ctx))
    app.include_router(check_routes(ctx))
    app.include_router(dispute_routes(ctx))
    app.include_router(approval_routes(ctx))
    app.include_router(accounting_routes(ctx))
    app.include_router(export_routes(ctx))
    app.include_router(gateway_routes(ctx))
    app.include_router(page_routes(ctx))
    return app


def _document_problems(app: FastAPI) -> None:
    """The document's ``Problem`` schema, which every operation's error responses name
    (:func:`api.problems.problem_responses`)."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        spec = make()  # made once and kept by FastAPI; changed here in place, once
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            schemas["Problem"] = ProblemBody.model_json_schema()
            _without_validation_errors(spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _without_validation_errors(spec: dict[str, Any]) -> None:
    """FastAPI adds a 422 ``HTTPValidationError`` (``application/json``) to an operation
    that documents no 422 itself: those without a parameter of their own, which cannot give
    one. Every 422 the API gives is a problem, documented as one where it can happen."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            answer = operation["responses"].get("422", {})
            if "HTTPValidationError" in str(answer.get("content", "")):
                del operation["responses"]["422"]
    schemas = spec["components"]["schemas"]
    if "HTTPValidationError" not in str(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _handle_errors(app: FastAPI) -> None:
    """Every error is a problem answer chosen by its type; a body too large is refused
    before it is read."""

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
