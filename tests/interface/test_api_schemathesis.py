"""Schemathesis against the served OpenAPI document, on both stores, bounded.

Two runs: every operation on its own (generated requests, valid and invalid), and stateful
scenarios that chain operations through the links Schemathesis infers from the document
(``POST /loans`` gives the ``loan_id`` that ``GET /loans/{loan_id}``, ``repayments``,
``prepayments``, ``reversals``, ``waivers``, ``what-if`` ... take). In both, no request makes a
server error, responses hold their schemas, and a refused request (4xx) adds no event to the
log. Each prints its counts (``pytest -s`` shows them). Every operation has a response schema
(:mod:`api.models`), so the conformance check means something: a response that breaks its
schema fails it (checked on a document altered on purpose), and a tour through every kind of
answer (corrections, a partial prepayment, the report, ``GET /loans``...) holds its schemas.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from api.routes_gateway import signed
from ledger.adapters.api_keys import new_key
from ledger.adapters.config import FourEyes
from ledger.adapters.gateway import GatewaySettings
from ledger.domain.terms import PRESETS
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input

OPERATOR_KEY, OPERATOR = new_key("schemathesis", "operator")
HEADERS = {"Authorization": f"Bearer {OPERATOR_KEY}"}
APPROVER_KEY, APPROVER = new_key("supervisor", "approver")
APPROVER_HEADERS = {"Authorization": f"Bearer {APPROVER_KEY}"}
TOUR_FOUR_EYES = FourEyes(Decimal("10.00"))  # the tour's 1.00 remedies need no second person
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Tally:
    """What the fuzz sent and what came back."""

    app: LedgerApp
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    refusals_that_wrote: list[str] = field(default_factory=list)
    answered_on_a_loan: int = 0  # 2xx under /loans/{loan_id}: a step that used a loan
    by_operation: Counter[str] = field(default_factory=Counter)  # "GET /loans 2xx": count

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    def events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def call(self, case: Any, **kwargs: Any) -> Any:
        """Send ``case``; count it; a refused request must not have added an event."""
        before = self.events()
        response = case.call(**kwargs)
        written = self.events() - before
        status = int(response.status_code)
        self.statuses[status] += 1
        self.by_operation[f"{case.method} {case.operation.path} {status // 100}xx"] += 1
        label = f"{case.method} {case.formatted_path} -> {status}"
        if status < 300 and case.operation.path.startswith("/loans/{loan_id}"):
            self.answered_on_a_loan += 1
        if status >= 500:
            self.server_errors.append(label)
        if status >= 400 and written:
            self.refusals_that_wrote.append(f"{label}: {written} event(s)")
        return response

    def summary(self, what: str) -> str:
        refused = sum(n for s, n in self.statuses.items() if s >= 400)
        return (
            f"schemathesis {what}: {self.cases} cases, {refused} refused, "
            f"{len(self.server_errors)} server errors, "
            f"{len(self.refusals_that_wrote)} events from refusals, "
            f"{self.answered_on_a_loan} answered on a loan; "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def _book(app: LedgerApp) -> Any:
    app.open_loan(
        terms_from_input(
            product="repay_on_schedule",
            principal="12000.00",
            term=6,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        ),
        "ALICE",
    )
    app.close_days(date(2026, 2, 20))
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(app, [OPERATOR]))


def test_no_request_makes_a_server_error_and_responses_hold_their_schema(
    app: LedgerApp,
) -> None:
    schema = _book(app)
    tally = Tally(app)
    results: list[Any] = list(schema.get_all_operations())
    operations = [result.ok() for result in results]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = tally.call(case, headers=HEADERS)
            case.validate_response(response, checks=CHECKS, headers=HEADERS)

        check()
    print(f"\n{tally.summary(f'{len(operations)} operations')}")
    assert tally.server_errors == []
    assert tally.refusals_that_wrote == []
    assert tally.cases >= 12 * len(operations) // 2
    assert tally.by_operation["GET /loans 2xx"] > 0, "GET /loans never listed the book"


def _days(first: date, last: date = date(2030, 12, 31)) -> st.SearchStrategy[str]:
    """Dates up to the suite's business date (2030-12-31)."""
    return st.dates(first, last).map(str)


def _amounts(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n}.00")


# Plausible bodies for the commands, so that scenarios open loans and act on them (the
# document's loose strings almost never make a loan): loans disbursed in early October 2030,
# commands dated from November on. Some succeed, some are refused (more than is owed, an
# Idempotency-Key reused with another body), and a refusal must write nothing.
OPENED = _days(date(2030, 10, 1), date(2030, 10, 10))
LATER = _days(date(2030, 11, 1))
PLAUSIBLE: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    ("POST", "/loans"): st.fixed_dictionaries(
        {
            "product": st.sampled_from(sorted(PRESETS)),
            "principal": _amounts(500, 50_000),
            "term": st.integers(1, 24),
            "disbursed_on": OPENED,
            "daily_rate": st.sampled_from(["0.0002", "0.0005", "0.001"]),
        }
    ),
    ("POST", "/loans/{loan_id}/repayments"): st.fixed_dictionaries(
        {"amount": _amounts(1, 5_000), "on": LATER}
    ),
    ("POST", "/loans/{loan_id}/prepayments"): st.one_of(
        st.fixed_dictionaries({"on": LATER, "amount": _amounts(1, 20_000)}),
        st.fixed_dictionaries({"on": LATER, "full": st.just(True)}),
    ),
    ("POST", "/loans/{loan_id}/prepayments/quote"): st.fixed_dictionaries(
        {"on": LATER, "full": st.just(True)}
    ),
}


def test_stateful_scenarios_chain_operations_without_a_server_error(app: LedgerApp) -> None:
    schema = _book(app)
    tally = Tally(app)

    def plausible_half_the_time(context: Any, body: Any) -> st.SearchStrategy[Any]:
        """Half the bodies of the commands above as generated, half plausible ones."""
        operation = context.operation
        key = (operation.method.upper(), operation.path) if operation is not None else None
        if key not in PLAUSIBLE:
            return st.just(body)
        return st.one_of(st.just(body), PLAUSIBLE[key])

    schema.hooks.register_hook_with_name(plausible_half_the_time, "flatmap_body")
    machine: Any = schema.as_state_machine()
    links = schema.statistic.transitions.total
    assert links >= 10, "Schemathesis inferred too few links from the OpenAPI document"

    class Scenarios(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": HEADERS}

        def call(self, case: Any, **kwargs: Any) -> Any:
            return tally.call(case, **kwargs)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=HEADERS)

    Scenarios.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
    print(f"\n{tally.summary(f'stateful, {links} inferred links')}")
    assert tally.server_errors == []
    assert tally.refusals_that_wrote == []
    assert tally.answered_on_a_loan > 0, "no scenario got past POST /loans"


# --------------------------------------------------------------------------- conformance


def _conforms(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """Raise :class:`FailureGroup` unless ``response`` holds its schema in ``document``."""
    operation = schemathesis.openapi.from_dict(document)[path][method]
    named = {"loan_id": "ALICE", "month": "2026-03", "dispute_id": "DSP-000001",
             "approval_id": "APR-000001", "name": "statements"}  # fmt: skip
    in_path = {name: named[name] for name in re.findall(r"{(\w+)}", path)}
    case = operation.Case(path_parameters=in_path, headers=HEADERS)
    case.validate_response(response, checks=[response_schema_conformance])


def test_a_response_that_breaks_its_schema_fails_the_conformance_check(app: LedgerApp) -> None:
    served = create_app(app, [OPERATOR])
    _book(app)
    with TestClient(served) as client:
        shown = client.get("/loans/ALICE", headers=HEADERS)
        listed = client.get("/loans", headers=HEADERS)
    document = served.openapi()
    _conforms(document, "/loans/{loan_id}", "GET", shown)
    _conforms(document, "/loans", "GET", listed)
    altered = copy.deepcopy(document)
    figures = altered["components"]["schemas"]["LoanFigures"]["properties"]
    figures["principal_outstanding"]["pattern"] = "^[0-9]+\\.[0-9]{3}$"  # three decimals
    for path, answer in (("/loans/{loan_id}", shown), ("/loans", listed)):
        with pytest.raises(FailureGroup, match="does not match"):
            _conforms(altered, path, "GET", answer)


def _tour(client: TestClient, app: LedgerApp) -> list[tuple[str, str, Any]]:
    """Every kind of answer: each command (a back-dated repayment and a reversal answer as
    corrections, a partial prepayment says how the plan was redone, a fee waived into credit
    and refunded), each read and audit."""
    opened = {"product": "repay_on_schedule", "principal": "6000.00", "term": 6}
    opened["daily_rate"] = "0.0005"
    done: list[tuple[str, str, Any]] = []

    def post(path: str, template: str, body: dict[str, Any]) -> None:
        done.append((template, "POST", client.post(path, json=body, headers=HEADERS)))

    def get(path: str, template: str) -> None:
        done.append((template, "GET", client.get(path, headers=HEADERS)))

    for name in ("BOB", "CAROL", "ERIN"):
        post("/loans", "/loans", {**opened, "loan_id": name, "disbursed_on": "2026-01-15"})
    yearly = {**opened, "daily_rate": None, "annual_rate": "0.18", "day_count": "ACT/365"}
    post("/loans", "/loans", {**yearly, "loan_id": "DAN", "disbursed_on": "2026-01-15"})
    for name in ("BOB", "DAN"):  # DAN's accruals have no finite decimal (n/365)
        app.set_balance(name, Decimal(0))
    app.close_days(date(2026, 4, 1))
    deducted = next(
        e["version"]
        for e in client.get("/loans/CAROL/events", headers=HEADERS).json()
        if e["type"] == "InstallmentDeducted"
    )
    for path, body in (
        ("repayments", {"amount": "300.00", "on": "2026-04-02"}),
        ("repayments", {"amount": "50.00", "on": "2026-03-20", "backdated": True, "reason": "x"}),
        ("waivers", {"part": "penalty", "amount": "1.00", "reason": "goodwill"}),
        ("prepayments/quote", {"on": "2026-04-02", "full": True}),
        ("what-if", {"set": {"daily_rate": "0.0004"}}),
    ):
        post(f"/loans/BOB/{path}", f"/loans/{{loan_id}}/{path}", body)
    post(
        "/loans/CAROL/prepayments",
        "/loans/{loan_id}/prepayments",
        {"on": "2026-04-02", "amount": "1000.00"},
    )
    post(
        "/loans/CAROL/reversals",
        "/loans/{loan_id}/reversals",
        {"event": deducted, "reason": "bank"},
    )
    for path, body in (  # ERIN's payoff fee, waived into credit on the closed loan, paid back
        ("prepayments", {"on": "2026-04-02", "full": True}),
        ("waivers", {"part": "fee", "amount": "1.00", "reason": "fee disputed"}),
        ("refunds", {"amount": "1.00", "reason": "the waived fee"}),
    ):
        post(f"/loans/ERIN/{path}", f"/loans/{{loan_id}}/{path}", body)
    tails = ("", "/schedule", "/statements/2026-03", "/events", "/explain", "/verify", "/report")
    for name in ("BOB", "DAN"):
        for tail in tails:
            template = f"/loans/{{loan_id}}{tail.replace('2026-03', '{month}')}"
            get(f"/loans/{name}{tail}", template)
    get("/loans/BOB?as_of=2026-03-01", "/loans/{loan_id}")
    for path in ("/loans", "/loans?status=overdue&limit=1", "/portfolio", "/projections"):
        get(path, path.split("?")[0])
    for path in ("/status", "/audit/checkpoints", "/audit/projections"):
        get(path, path)
    get("/accounting/postings/BOB", "/accounting/postings/{loan_id}")
    for path in ("/accounting/trial-balance?by=product", "/accounting/tie-out?as_of=2026-03-01"):
        get(path, path.split("?")[0])
    for name in ("balances", "statements", "schedule", "portfolio", "events"):
        get(f"/exports/{name}?format=json", "/exports/{name}")
    get("/exports/statements?format=csv&as_of=2026-03-01", "/exports/{name}")
    _dispute_tour(post, get)
    _approval_tour(client, done)
    _write_off_tour(client, done)
    _restructure_tour(client, done)
    _gateway_tour(client, app, done)
    return done


def _gateway_tour(client: TestClient, app: LedgerApp, done: list[tuple[str, str, Any]]) -> None:
    """The asynchronous gateway (loan-rules section 17): the morning of 2026-04-15 requests
    each open loan's installment; the requests awaiting a result, one result delivered by
    the signed webhook, and the reconciliation of that day against it."""
    app.gateway_settings = GatewaySettings(delay_days=1, secret="tour-secret")
    app.close_days(date(2026, 4, 15))
    answer = client.get("/gateway/pending", headers=HEADERS)
    done.append(("/gateway/pending", "GET", answer))
    first = answer.json()["pending"][0]
    line = {"result_id": "T-1", "request_id": first["request_id"], "status": "settled"}
    line["amount"] = first["requested"]
    body = json.dumps({"results": [line]}).encode()
    stamp = str(int(time.time()))
    signature = signed("tour-secret", stamp, body)
    webhook = {"X-Gateway-Timestamp": stamp, "X-Gateway-Signature": signature}
    webhook["Content-Type"] = "application/json"
    answer = client.post("/gateway/results", content=body, headers=webhook)
    done.append(("/gateway/results", "POST", answer))
    reconciled = {"date": "2026-04-15", "lines": [line]}
    answer = client.post("/gateway/reconcile", json=reconciled, headers=HEADERS)
    done.append(("/gateway/reconcile", "POST", answer))


def _restructure_tour(client: TestClient, done: list[tuple[str, str, Any]]) -> None:
    """BOB restructured (loan-rules section 16): the preview (nothing written), the request
    (always 202), a second person approves it (its answer: the restructuring), the schedule
    re-planned."""
    template = "/loans/{loan_id}/restructurings"
    body = {"term": 9, "rate": "0.0004"}
    answer = client.post("/loans/BOB/restructurings/preview", json=body, headers=HEADERS)
    done.append((template + "/preview", "POST", answer))
    asked = client.post("/loans/BOB/restructurings", json={**body, "reason": "x"}, headers=HEADERS)
    done.append((template, "POST", asked))
    reference = asked.json()["approval"]["approval_id"]
    answer = client.post(f"/approvals/{reference}/approve", headers=APPROVER_HEADERS)
    done.append(("/approvals/{approval_id}/approve", "POST", answer))
    done.append(
        ("/loans/{loan_id}/schedule", "GET", client.get("/loans/BOB/schedule", headers=HEADERS))
    )


def _write_off_tour(client: TestClient, done: list[tuple[str, str, Any]]) -> None:
    """DAN, never paid, written off (loan-rules section 14): the request waits (202), a second
    person approves it (its answer: the write-off), then a recovery."""
    asked = client.post("/loans/DAN/write-offs", json={"reason": "uncollectable"}, headers=HEADERS)
    done.append(("/loans/{loan_id}/write-offs", "POST", asked))
    reference = asked.json()["approval"]["approval_id"]
    answer = client.post(f"/approvals/{reference}/approve", headers=APPROVER_HEADERS)
    done.append(("/approvals/{approval_id}/approve", "POST", answer))
    recovery = {"amount": "100.00", "reason": "collection agency"}
    answer = client.post("/loans/DAN/recoveries", json=recovery, headers=HEADERS)
    done.append(("/loans/{loan_id}/recoveries", "POST", answer))
    done.append(("/loans/{loan_id}", "GET", client.get("/loans/DAN", headers=HEADERS)))


def _approval_tour(client: TestClient, done: list[tuple[str, str, Any]]) -> None:
    """The back-dated repayment (50.00) and the reversal asked for above wait for a second
    person (202): one approved (its answer: the correction), the other rejected."""
    template = "/approvals/{approval_id}"
    waiting = client.get("/approvals?status=pending", headers=HEADERS).json()["approvals"]
    assert [r["what"][:6] for r in waiting] == ["record", "revers"], waiting
    first, second = (r["approval_id"] for r in waiting)
    answer = client.post(f"/approvals/{first}/approve", headers=APPROVER_HEADERS)
    done.append((f"{template}/approve", "POST", answer))
    rejection = {"reason": "not this one"}
    answer = client.post(f"/approvals/{second}/reject", json=rejection, headers=APPROVER_HEADERS)
    done.append((f"{template}/reject", "POST", answer))
    done.append((template, "GET", client.get(f"/approvals/{first}", headers=HEADERS)))
    done.append(("/approvals", "GET", client.get("/approvals?loan=BOB", headers=HEADERS)))


def _dispute_tour(
    post: Callable[[str, str, dict[str, Any]], None], get: Callable[[str, str], None]
) -> None:
    """A dispute case through every step, read and listed (its report is read above)."""
    claim = {"loan_id": "BOB", "charge": "penalty", "amount": "1.00", "from": "2026-02-16"}
    claim |= {"to": "2026-03-01", "claim": "c", "received_by": "desk", "channel": "phone"}
    post("/disputes", "/disputes", claim)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("findings", {"verify": True}),
        ("findings", {"what_if": {"penalty_multiplier": "1.0"}, "note": "n"}),
        ("findings", {"explain": "penalty_accrued"}),
        ("decision", {"outcome": "upheld", "reasons": "r", "remedy": "x", "remedy_amount": "1.00"}),
        ("closure", {"note": "done"}),
    ]
    for tail, body in steps:
        post(f"/disputes/DSP-000001/{tail}", f"/disputes/{{dispute_id}}/{tail}", body)
    get("/disputes/DSP-000001", "/disputes/{dispute_id}")
    get("/disputes?loan=BOB&status=closed", "/disputes")
    get("/loans/BOB/report", "/loans/{loan_id}/report")


def test_every_kind_of_answer_in_a_tour_holds_its_documented_schema(app: LedgerApp) -> None:
    served = create_app(app, [OPERATOR, APPROVER], four_eyes=TOUR_FOUR_EYES)
    with TestClient(served) as client:
        answers = _tour(client, app)
    document = served.openapi()
    statuses = [(method, path, r.status_code) for path, method, r in answers if r.is_error]
    assert statuses == []
    for path, method, response in answers:
        _conforms(document, path, method, response)
    assert (
        len({(path, method) for path, method, _ in answers})
        >= len([op for ops in document["paths"].values() for op in ops]) - 1
    )  # every operation but POST .../release (for a quarantined loan only)
