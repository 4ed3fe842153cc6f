"""The HTTP API over both stores: roles, problem details, idempotency, refusals write nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.adapters.config import FourEyes
from ledger.bootstrap import openapi_document
from ledger.services.application import LedgerApp

ROOT = Path(__file__).resolve().parents[2]
ALICE = {
    "loan_id": "ALICE",
    "product": "repay_on_schedule",
    "principal": "12000.00",
    "term": 12,
    "disbursed_on": "2026-01-15",
    "daily_rate": "0.0005",
}


class Api:
    def __init__(
        self, client: TestClient, app: LedgerApp, operator: str, auditor: str, approver: str = ""
    ) -> None:
        self.client, self.app = client, app
        self.operator = {"Authorization": f"Bearer {operator}"}
        self.auditor = {"Authorization": f"Bearer {auditor}"}
        self.approver = {"Authorization": f"Bearer {approver}"}

    def events(self) -> int:
        return len(self.app.recorder.select_notifications(start=None, limit=10**9))

    def open_alice(self) -> None:
        """ALICE opened through the API; her linked account is empty (set up directly)."""
        assert self.post("/loans", ALICE).status_code == 201
        self.app.set_balance("ALICE", Decimal(0))

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(path, json=body, headers={**self.operator, **headers})

    def get(self, path: str, who: str = "auditor") -> Any:
        return self.client.get(path, headers=self.auditor if who == "auditor" else self.operator)


def serve(app: LedgerApp, four_eyes: FourEyes | None = None) -> Iterator[Api]:
    """The HTTP API on ``app`` in a test client, with an operator's, an auditor's and an
    approver's (``supervisor``) key; four-eyes as ``four_eyes`` (default: every amount)."""
    operator, op_key = new_key("ops-desk", "operator")
    auditor, au_key = new_key("auditor-1", "auditor")
    approver, ap_key = new_key("supervisor", "approver")
    served = create_app(app, [op_key, au_key, ap_key], four_eyes=four_eyes)
    with TestClient(served, raise_server_exceptions=False) as client:
        yield Api(client, app, operator, auditor, approver)


NO_FOUR_EYES = FourEyes(Decimal("1000000.00"))  # every remedy in these tests is under it


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    yield from serve(app)


def assert_problem(response: Any, status: int, needle: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and needle in body["detail"], body
    assert "\n" not in body["detail"]


def test_no_key_is_401_a_wrong_key_is_401_and_an_auditor_command_is_403(api: Api) -> None:
    assert_problem(api.client.get("/loans/X"), 401, "API key is required")
    assert_problem(
        api.client.get("/loans/X", headers={"Authorization": "Bearer nope"}), 401, "unknown"
    )
    before = api.events()
    refused = api.client.post("/loans", json=ALICE, headers=api.auditor)
    assert_problem(refused, 403, "auditor role may not")
    assert api.events() == before


def test_a_loan_opened_repaid_and_read_through_the_api(api: Api) -> None:
    opened = api.post("/loans", ALICE)
    assert opened.status_code == 201, opened.text
    assert opened.json()["principal_outstanding"] == "12000.00"
    api.app.set_balance("ALICE", Decimal(0))
    paid = api.post("/loans/ALICE/repayments", {"amount": "100.00", "on": "2026-02-16"})
    assert paid.status_code == 201, paid.text
    shown = api.get("/loans/ALICE").json()
    assert shown["as_of"] == "2026-02-16" or shown["status"] in ("active", "overdue")
    assert api.get("/loans/ALICE/schedule").json()[0]["interest"] == "186.00"
    statement = api.get("/loans/ALICE/statements/2026-03").json()
    assert statement["repaid_penalty"] == "0.00" and statement["paid_total"] == "100.00"
    assert api.get("/loans/ALICE/verify").json()["clean"] is True
    assert api.get("/loans/ALICE/explain").json()["adds_up"] is True
    same = api.client.post("/loans/ALICE/what-if", json={"set": {}}, headers=api.auditor)
    assert same.status_code == 200, same.text
    assert same.json()["total"]["difference"] == "0.00"
    page = api.client.get("/loans/ALICE/report?format=html", headers=api.auditor)
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert api.get("/portfolio").json()["loans"] == 1
    assert {p["name"] for p in api.get("/projections").json()} >= {"balances", "portfolio"}


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/loans", {**ALICE, "principal": 12000.5}, 422, "principal"),
        ("/loans", {**ALICE, "principal": "12000.005"}, 422, "principal"),
        ("/loans", {**ALICE, "colour": "red"}, 422, "colour"),
        ("/loans", {**ALICE, "disbursed_on": "2026-02-30"}, 422, "disbursed_on"),
        ("/loans", {**ALICE, "product": "payday"}, 422, "unknown preset"),
        ("/loans/ALICE/repayments", {"amount": "0.00", "on": "2026-02-16"}, 422, "positive"),
        ("/loans/ALICE/repayments", {"amount": "ten", "on": "2026-02-16"}, 422, "amount"),
        ("/loans/ALICE/repayments", {"amount": "99999.00", "on": "2026-02-16"}, 422, "exceeds"),
        ("/loans/NOBODY/repayments", {"amount": "1.00", "on": "2026-02-16"}, 404, "unknown loan"),
        ("/loans/ALICE/prepayments", {"on": "2026-02-16"}, 422, "exactly one of"),
        ("/loans/ALICE/waivers", {"part": "loan", "amount": "1.00", "reason": "x"}, 422, "part"),
        ("/loans/ALICE/waivers", {"part": "fee", "amount": "1.00", "reason": "x"}, 422, "of fee"),
        ("/loans/ALICE/reversals", {"event": 1, "reason": "x"}, 422, "only a deduction"),
    ],
)
def test_bad_input_is_a_4xx_problem_and_writes_no_event(
    api: Api, path: str, body: Any, status: int, needle: str
) -> None:
    api.open_alice()
    before = api.events()
    assert_problem(api.post(path, body), status, needle)
    assert api.events() == before


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_writes_nothing(
    api: Api,
) -> None:
    api.open_alice()
    body = {"amount": "100.00", "on": "2026-02-16"}
    first = api.post("/loans/ALICE/repayments", body, **{"Idempotency-Key": "pay-1"})
    assert first.status_code == 201
    after_first = api.events()
    again = api.post("/loans/ALICE/repayments", body, **{"Idempotency-Key": "pay-1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.events() == after_first
    other = api.post(
        "/loans/ALICE/repayments", {**body, "amount": "200.00"}, **{"Idempotency-Key": "pay-1"}
    )
    assert_problem(other, 409, "another request")
    assert api.events() == after_first
    refused = {"amount": "99999.00", "on": "2026-02-16"}
    no = api.post("/loans/ALICE/repayments", refused, **{"Idempotency-Key": "pay-2"})
    replay = api.post("/loans/ALICE/repayments", refused, **{"Idempotency-Key": "pay-2"})
    assert no.status_code == replay.status_code == 422 and no.json() == replay.json()


def test_the_callers_identity_is_recorded_with_the_corrections_it_asks_for(api: Api) -> None:
    api.open_alice()
    api.app.close_days(date(2026, 3, 1))
    done = api.post(
        "/loans/ALICE/repayments",
        {"amount": "50.00", "on": "2026-02-20", "backdated": True, "reason": "branch"},
    )
    assert done.status_code == 202, done.text  # four eyes: a request
    request = done.json()["approval"]
    assert (request["requested_by"], request["status"]) == ("ops-desk", "pending")
    approved = api.post(f"/approvals/{request['approval_id']}/approve", None, **api.approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"]["actor"] == "ops-desk"  # who asked
    recorded = api.app.loan_events("ALICE")
    assert recorded[0].recorded_by == "api:ops-desk"  # opened through the API
    assert recorded[-1].recorded_by == "api:supervisor"  # the correction, when approved
    assert {e.recorded_by for e in recorded[1:-1]} == {""}  # run by close_days in this test


def test_the_openapi_document_in_the_repository_is_the_one_served(api: Api) -> None:
    served = api.client.get("/openapi.json").json()
    kept = json.loads((ROOT / "api" / "openapi.json").read_text())
    assert kept == json.loads(openapi_document()) == served


# --------------------------------------------------------------------------- GET /loans


def _book_of_five(api: Api) -> None:
    """Five loans through the API: L1 to L3 of one product, L4 and L5 of another; L2 and L4
    with empty accounts (overdue once the days run), closed days through 2026-03-01."""
    for n, product in enumerate(["repay_on_schedule"] * 3 + ["equal_principal"] * 2, 1):
        body = {**ALICE, "loan_id": f"L{n}", "product": product, "principal": "1000.00"}
        assert api.post("/loans", body).status_code == 201
    api.app.set_balance("L2", Decimal(0))
    api.app.set_balance("L4", Decimal(0))
    api.app.close_days(date(2026, 3, 1))


def test_get_loans_lists_every_loan_as_get_loan_shows_it_with_the_total(api: Api) -> None:
    _book_of_five(api)
    answer = api.get("/loans")  # an auditor may read the list
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert [row["loan_id"] for row in page["loans"]] == ["L1", "L2", "L3", "L4", "L5"]
    assert page["total"] == 5 and page["next_after"] is None
    assert "link" not in answer.headers
    assert page["loans"][1] == api.get("/loans/L2").json()
    assert api.get("/loans", who="operator").status_code == 200


def test_get_loans_filters_by_status_product_and_days_past_due(api: Api) -> None:
    _book_of_five(api)

    def ids(query: str) -> list[str]:
        answer = api.get(f"/loans?{query}")
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["total"] == len(page["loans"])
        return [row["loan_id"] for row in page["loans"]]

    assert ids("status=overdue") == ["L2", "L4"]
    assert ids("status=active") == ["L1", "L3", "L5"]
    assert ids("status=closed") == []
    assert ids("product=equal_principal") == ["L4", "L5"]
    assert ids("product=equal_principal&status=overdue") == ["L4"]
    assert ids("min_days_past_due=1") == ["L2", "L4"]
    assert ids("min_days_past_due=0") == ["L1", "L2", "L3", "L4", "L5"]
    assert ids("min_days_past_due=1000") == []


def test_get_loans_pages_by_key_with_a_link_to_the_next_page(api: Api) -> None:
    _book_of_five(api)
    seen: list[str] = []
    path = "/loans?status=active&limit=2"
    pages = 0
    while path:
        answer = api.get(path)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        assert page["total"] == 3
        seen += [row["loan_id"] for row in page["loans"]]
        link = answer.headers.get("link")
        if page["next_after"] is None:
            assert link is None
            break
        assert link is not None and link.endswith('>; rel="next"'), link
        path = link[1 : link.index(">")]
        assert path.startswith("/loans?") and "status=active" in path and "limit=2" in path
    assert seen == ["L1", "L3", "L5"] and pages == 2
    first = api.get("/loans?limit=2").json()
    assert [row["loan_id"] for row in first["loans"]] == ["L1", "L2"]
    added = {**ALICE, "loan_id": "L0", "principal": "1000.00", "disbursed_on": "2026-03-02"}
    assert api.post("/loans", added).status_code == 201  # sorts before the key given out
    following = api.get(f"/loans?limit=2&after={first['next_after']}").json()
    assert [row["loan_id"] for row in following["loans"]] == ["L3", "L4"]
    assert following["total"] == 6


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("status=late", "status"),
        ("product=payday", "product"),
        ("min_days_past_due=-1", "min_days_past_due"),
        ("min_days_past_due=%EF%BC%91", "min_days_past_due"),  # a full-width 1
        ("min_days_past_due=+5", "min_days_past_due"),
        ("min_days_past_due=1.0", "min_days_past_due"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("after=no-separator", "after"),
        ("after=A%7C" + "f" * 37, "after"),
    ],
)
def test_get_loans_refuses_a_bad_filter_or_page_with_a_422_and_writes_nothing(
    api: Api, query: str, needle: str
) -> None:
    _book_of_five(api)
    before = api.events()
    assert_problem(api.get(f"/loans?{query}"), 422, needle)
    assert api.events() == before


def test_get_loans_needs_a_key(api: Api) -> None:
    assert_problem(api.client.get("/loans"), 401, "API key is required")
