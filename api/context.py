"""What every route of the HTTP API shares: the ledger, the keys and who is calling, one
command at a time run once per Idempotency-Key, and the read models caught up on demand."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Cookie, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.idempotency import IdempotencyConflict, IdempotencyStore
from api.problems import PROBLEM, Problem, is_transient, refusal
from ledger.adapters.api_keys import ApiKey, find
from ledger.adapters.config import FourEyes, RateCaps
from ledger.domain.actor import acting_as
from ledger.domain.errors import LedgerError
from ledger.domain.loan import Loan
from ledger.read import approvals as approval_views
from ledger.read import views
from ledger.services import approvals, parsing
from ledger.services.application import LedgerApp
from projections import Projections

OPERATOR = ("operator", "approver")
APPROVER = ("approver",)
ANYONE = ("operator", "approver", "auditor")
ROLES = (
    "Roles: `operator` (commands and every read), `approver` (the same, and approving or "
    "rejecting another person's four-eyes request) and `auditor` (reads, audits, quotes and "
    "what-if; a command is refused with 403). No key or an unknown one: 401."
)
# The OpenAPI document's security schemes (the checks themselves are in ApiContext.caller):
# neither refuses by itself (auto_error=False), so every refusal is a problem answer.
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="API key",
    description="An API key from `ledger api-key new NAME --role operator|auditor`, sent as "
    f"`Authorization: Bearer <key>`. {ROLES}",
    auto_error=False,
)
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKey",
    description=f"The same API key in an `X-API-Key` header instead. {ROLES}",
    auto_error=False,
)


class ApiContext:
    """The state the routes share (one per app)."""

    def __init__(
        self,
        ledger: LedgerApp,
        keys: list[ApiKey],
        caps: RateCaps | None,
        four_eyes: FourEyes | None = None,
    ) -> None:
        self.ledger = ledger
        self.keys = keys
        self.caps = caps or RateCaps()
        self.four_eyes = four_eyes or FourEyes()
        self.lock = threading.Lock()  # commands one at a time (the store serialises writers)
        self.idempotency = IdempotencyStore(ledger)
        self.read_models = Projections(ledger)  # made once: tables, projectors, caches
        self.catching_up = threading.Lock()  # one request thread at a time moves projectors
        self.operator: Any = Depends(self.caller(OPERATOR))
        self.anyone: Any = Depends(self.caller(ANYONE))
        self.approver: Any = Depends(self.caller(APPROVER))

    def caught_up(self, names: list[str]) -> Projections:
        with self.catching_up:
            self.read_models.catch_up(names)
        return self.read_models

    def caller(
        self,
        required: tuple[str, ...],
    ) -> Callable[..., ApiKey]:
        def dependency(
            request: Request,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
            x_api_key: Annotated[str | None, Depends(API_KEY_HEADER)],
            ledger_key: Annotated[str | None, Cookie(include_in_schema=False)] = None,
        ) -> ApiKey:
            presented = x_api_key
            if bearer is not None:
                presented = bearer.credentials.strip()
            if not presented and required == ANYONE:
                presented = ledger_key  # the audit page's sign-in, for reads only
            if not presented:
                raise Problem(
                    401, "Unauthorized", "an API key is required (Authorization: Bearer <key>)"
                )
            key = find(self.keys, presented)
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

    @staticmethod
    def caller_name(request: Request) -> str:
        name = getattr(request.state, "caller", "")
        return f"api:{name}" if name else "api"

    def run_command(
        self,
        request: Request,
        key: str | None,
        body: BaseModel | None,
        action: Callable[[], tuple[int, Any]],
    ) -> JSONResponse:
        """Run a command once per Idempotency-Key: a retry gets the first answer."""
        if key is None:
            with self.lock, acting_as(self.caller_name(request)):
                status, payload = self.ledger.execute(action)
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
            stored = self.idempotency.claim(key, fingerprint)
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
            with self.lock, acting_as(self.caller_name(request)):
                status, payload = self.ledger.execute(action)
        except (LedgerError, Problem) as error:  # a refusal is an answer too
            response = refusal(error, request.url.path)
            if is_transient(response.status_code):
                self.idempotency.release(key)  # busy: a retry with the same key may succeed
            else:
                self.idempotency.answer(key, response.status_code, _json(response))
            return response
        except BaseException:
            self.idempotency.release(key)
            raise
        # the effect is stored: from here on the key is never released (if storing the
        # answer fails, a retry is told the request is still running, not run twice)
        self.idempotency.answer(key, status, payload)
        return JSONResponse(payload, status_code=status)

    def gated(
        self, outcome: approvals.Outcome, carried_out: Callable[[Loan], dict[str, Any]]
    ) -> tuple[int, Any]:
        """A four-eyes command's answer (loan-rules §12.5): 202 and the request while it waits
        for a second person; carried out at once (under the threshold), 201 and what it did,
        with the request (``approval``)."""
        answer = approval_views.gated_answer(self.ledger, outcome, carried_out)
        return (202 if outcome.loan is None else 201), answer

    @staticmethod
    def person(key: ApiKey) -> approvals.Person:
        return approvals.Person(key.name, key.role)

    @staticmethod
    def correction(loan: Loan) -> dict[str, Any]:
        """The correction just made, from the loan's unsaved events (before execute saves)."""
        return views.correction(loan, views.newest_pending(loan, Loan.Corrected))

    def moment(self, known_at: str | None) -> datetime | None:
        zone = self.ledger.business_date.zone
        return None if known_at is None else parsing.timestamp_text(known_at, "known_at", zone)


def _json(response: JSONResponse) -> Any:
    return json.loads(bytes(response.body))
