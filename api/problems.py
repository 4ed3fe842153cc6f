"""RFC 9457 problem details, and the one mapping from errors to HTTP statuses: by the
error's type, never by its message (see the table in :mod:`ledger.domain.errors`); and how
each operation documents them in the OpenAPI document, with its answer (:class:`Operations`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ledger.adapters.config import one_line
from ledger.domain.errors import (
    Busy,
    Conflict,
    LedgerError,
    NotFound,
    NotPermitted,
    OutOfBusinessDay,
    Quarantined,
    StoreUnavailable,
)

F = TypeVar("F", bound=Callable[..., Any])
PROBLEM = "application/problem+json"
RETRY_AFTER_SECONDS = "1"
MAX_BODY_BYTES = 64 * 1024  # every command body is a few hundred bytes
DATABASE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)


class Problem(Exception):
    """An answer decided by the HTTP layer itself (401, 403, a bad header)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


# (error type, status, title), the first that matches wins: subclasses before bases.
STATUS_BY_ERROR: list[tuple[type[Exception], int, str]] = [
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (NotPermitted, 403, "Forbidden"),
    (Quarantined, 409, "Quarantined"),
    (OutOfBusinessDay, 422, "Beyond the business date"),
    (Busy, 503, "Busy"),
    (StoreUnavailable, 503, "Store unavailable"),
    (LedgerError, 422, "Refused"),
]


def problem(
    status: int, title: str, detail: str, instance: str = "", *, retry: bool = False
) -> JSONResponse:
    body = {
        "type": f"https://ledger.invalid/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail.replace("\n", " "),
    }
    if instance:
        body["instance"] = instance
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if retry else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def refusal(error: Exception, instance: str) -> JSONResponse:
    """The problem answer to an error; 503s say when to retry."""
    if isinstance(error, Problem):
        return problem(error.status, error.title, error.detail, instance)
    if isinstance(error, DATABASE_ERRORS):
        return problem(
            503, "Store unavailable", f"database: {one_line(error)}", instance, retry=True
        )
    for kind, status, title in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return problem(status, title, str(error), instance, retry=status == 503)
    return problem(500, "Internal error", one_line(error), instance)


# What each problem status means, as the OpenAPI document says it.
MEANING = {
    400: "A malformed header (an Idempotency-Key that is not 1 to 200 printable ASCII)",
    401: "No API key, or an unknown one",
    403: "The key's role may not do this (an auditor sent a command, an operator approved), "
    "or the requester approved their own request (four-eyes)",
    404: "No such loan (or nothing of it at that date or month)",
    409: "A conflict: the loan id is taken, the loan is quarantined, or the "
    "Idempotency-Key went with another request or is still running",
    413: f"The request body is over {MAX_BODY_BYTES} bytes",
    422: "A value is malformed or out of range, or the command is refused by the rules "
    "(nothing is written)",
    503: "The database is unreachable or too busy; retry after Retry-After seconds",
}
READ = (401, 422, 503)  # every authenticated operation with parameters
LOAN_READ = (*READ, 404, 409)  # on a loan: it does not exist, or is quarantined
LOAN_QUERY = (*LOAN_READ, 413)  # a read with a body (a quote, a what-if)
COMMAND = (*READ, 400, 403, 409, 413)  # a header, a role, a conflict, a body
LOAN_COMMAND = (*COMMAND, 404)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation for the problem answers it can give: each an
    ``application/problem+json`` :class:`api.models.Problem` (a 503 with ``Retry-After``)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {
            "description": MEANING[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 503:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "string"},
                }
            }
        responses[status] = response
    return responses


def documented(
    model: Any,
    description: str,
    problems: tuple[int, ...],
    *,
    status: int = 200,
    success: dict[str, Any] | None = None,
    also: dict[int | str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A route's documentation, as keyword arguments of its decorator: its answer (``model``,
    under ``status``, with what ``success`` adds: headers, other media types) and the
    problem answers it can give; ``also``: other success answers (``{202: {"model": ...,
    "description": ...}}``). Fields a model leaves out by default stay out (a field absent
    from the answer is not added as null)."""
    responses: dict[int | str, dict[str, Any]] = {status: success} if success else {}
    responses.update(also or {})
    return {
        "status_code": status,
        "response_model": model,
        "response_model_exclude_unset": True,
        "response_description": description,
        "responses": {**responses, **problem_responses(*problems)},
    }


class Operations:
    """Declares a router's operations, each with its tag and :func:`documented` answers:
    ``@ops.get(path, Model, "what it answers", problems)``."""

    def __init__(self, router: APIRouter, tag: str) -> None:
        self.router, self.tag = router, tag

    def get(self, path: str, *answer: Any, **more: Any) -> Callable[[F], F]:
        """``answer``: the model, its description and the problem statuses."""
        documentation = documented(*answer, **more)
        decorator: Callable[[F], F] = self.router.get(path, tags=[self.tag], **documentation)
        return decorator

    def post(self, path: str, *answer: Any, **more: Any) -> Callable[[F], F]:
        documentation = documented(*answer, **more)
        decorator: Callable[[F], F] = self.router.post(path, tags=[self.tag], **documentation)
        return decorator


def is_transient(status: int) -> bool:
    """An answer a retry may change (so an idempotency key is not bound to it)."""
    return status >= 500
