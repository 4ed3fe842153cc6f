"""The payment gateway over HTTP (loan-rules §17), on SQLite and PostgreSQL: the provider's
signed webhook records a result once however often it is delivered; an unsigned, badly
signed, stale or refused delivery is a problem answer that writes no event; the requests
awaiting a result and the reconciliation of a day.

The loan: 12,000.00 over 6 months from 2026-01-15 at 0.05 % a day; the morning of 2026-02-15
requests installment 1, 2,106.30."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from api.routes_gateway import WINDOW_SECONDS, signed
from ledger.adapters.gateway import GatewaySettings
from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate
from tests.interface.test_api import Api, assert_problem, serve

SECRET = "a-shared-secret"
LOAN = {"loan_id": "BOB", "product": "repay_on_schedule", "principal": "12000.00", "term": 6,
        "disbursed_on": "2026-01-15", "daily_rate": "0.0005"}  # fmt: skip


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    app.business_date = BusinessDate.from_env({"LEDGER_TODAY": "2026-03-01"})
    app.gateway_settings = GatewaySettings(delay_days=1, secret=SECRET)
    yield from serve(app)


@pytest.fixture
def requested(api: Api) -> str:
    assert api.post("/loans", LOAN).status_code == 201
    api.app.close_days(date(2026, 2, 15))
    pending = api.get("/gateway/pending").json()["pending"]
    assert [(p["requested_on"], p["requested"]) for p in pending] == [("2026-02-15", "2106.30")]
    return str(pending[0]["request_id"])


def deliver(api: Api, results: list[dict[str, Any]], *, secret: str = SECRET, age: int = 0) -> Any:
    body = json.dumps({"results": results}).encode()
    stamp = str(int(time.time()) - age)
    headers = {"X-Gateway-Timestamp": stamp, "X-Gateway-Signature": signed(secret, stamp, body)}
    return api.client.post(
        "/gateway/results", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def settled(request_id: str, result_id: str = "W-1") -> dict[str, Any]:
    return {"result_id": result_id, "request_id": request_id, "status": "settled",
            "amount": "2106.30"}  # fmt: skip


def test_a_signed_delivery_is_recorded_once_however_often_it_comes(
    api: Api, requested: str
) -> None:
    first = deliver(api, [settled(requested)])
    assert first.status_code == 200, first.text
    assert (first.json()["recorded"], first.json()["already"]) == (1, 0)
    events = api.events()
    again = deliver(api, [settled(requested)])  # the provider retries
    assert again.status_code == 200, again.text
    assert again.json()["results"][0]["outcome"] == "already"
    assert again.json()["results"][0]["event"] == first.json()["results"][0]["event"]
    assert api.events() == events
    shown = api.get("/loans/BOB").json()
    assert (shown["principal_repaid"], shown["status"]) == ("1920.30", "active")
    assert api.get("/gateway/pending").json() == {"pending": []}


def test_an_unsigned_forged_or_stale_delivery_is_refused_with_no_event(
    api: Api, requested: str
) -> None:
    events = api.events()
    body = {"results": [settled(requested)]}
    assert_problem(api.client.post("/gateway/results", json=body), 401, "X-Gateway-Signature")
    assert_problem(deliver(api, [settled(requested)], secret="guess"), 401, "does not match")
    stale = deliver(api, [settled(requested)], age=WINDOW_SECONDS + 60)
    assert_problem(stale, 401, "replay")
    api.app.gateway_settings = GatewaySettings(delay_days=1)  # no secret: the webhook is off
    assert_problem(deliver(api, [settled(requested)]), 403, "LEDGER_GATEWAY_SECRET")
    assert api.events() == events


def test_a_delivery_with_one_refused_result_records_none_of_them(api: Api, requested: str) -> None:
    events = api.events()
    wrong = {**settled(requested, "W-2"), "amount": "2106.29"}
    assert_problem(deliver(api, [settled(requested), wrong]), 422, "does not fit")
    unknown = {**settled(requested), "request_id": "not-ours"}
    assert_problem(deliver(api, [unknown]), 422, "not one of this ledger's")
    bad = {**settled(requested), "amount": "1,50"}
    assert_problem(deliver(api, [bad]), 422, "amount")
    assert deliver(api, []).status_code == 422
    assert api.events() == events


def test_the_reconciliation_of_a_day_lists_the_differences(api: Api, requested: str) -> None:
    assert deliver(api, [settled(requested)]).status_code == 200
    line = {**settled(requested), "taken_on": "2026-02-15"}
    body = {"date": "2026-02-15", "lines": [line, {**line, "result_id": "W-9"}]}
    answer = api.client.post("/gateway/reconcile", json=body, headers=api.auditor)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["holds"], report["ledger_total"]) == (False, "2106.30")
    assert [(d["kind"], d["request_id"]) for d in report["differences"]] == [
        ("duplicate", requested)
    ]
    clean = api.client.post(
        "/gateway/reconcile", json={"date": "2026-02-15", "lines": [line]}, headers=api.auditor
    )
    assert (clean.json()["holds"], clean.json()["matched"]) == (True, 1)
