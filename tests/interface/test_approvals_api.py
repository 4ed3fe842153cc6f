"""Four-eyes approval over HTTP (issue 14, point 3; loan-rules §12.5), on SQLite and
PostgreSQL: a waiver or refund is answered 202 with the request; a key with the approver role,
not the requester's, approves it (the loan's events happen then) or rejects it; an operator
cannot approve, an auditor cannot ask; every refusal is a problem answer that writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from tests.interface.test_api import Api, assert_problem, serve
from tests.interface.test_remedies_api import FEE, WAIVE_FEE, account_balance

REFUND = {"amount": "300.00", "reason": "the waived fee"}


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    yield from serve(app)  # four eyes for every amount


@pytest.fixture
def paid_off(api: Api) -> Api:
    assert api.post("/loans", FEE).status_code == 201
    api.app.set_balance("FEE", Decimal("1000.00"))
    assert api.post("/loans/FEE/prepayments", {"on": "2026-01-04", "full": True}).is_success
    return api


def approve(api: Api, request: str, **headers: str) -> Any:
    return api.client.post(f"/approvals/{request}/approve", headers={**api.approver, **headers})


def test_the_fee_waiver_and_refund_wait_for_the_approver_then_the_money_goes_back(
    paid_off: Api,
) -> None:
    api = paid_off
    waiver = api.post("/loans/FEE/waivers", WAIVE_FEE)
    assert waiver.status_code == 202, waiver.text
    assert waiver.json()["result"] is None
    assert waiver.json()["approval"]["requested_by"] == "ops-desk"
    refund = api.post("/loans/FEE/refunds", REFUND)
    assert refund.status_code == 202, refund.text
    assert api.get("/loans/FEE").json()["credit"] == "0.00"  # nothing happened yet
    pending = api.get("/approvals?status=pending").json()
    assert [r["approval_id"] for r in pending["approvals"]] == ["APR-000001", "APR-000002"]

    done = approve(api, "APR-000001")
    assert done.status_code == 200, done.text
    assert done.json()["result"]["credited"] == "300.00"
    assert done.json()["approval"]["decided_by"] == "supervisor"
    paid = approve(api, "APR-000002")
    assert paid.status_code == 200, paid.text
    assert paid.json()["result"]["credit_after"] == "0.00"
    assert account_balance(api.app, "FEE") == Decimal("1300.00")
    assert api.get("/loans/FEE/verify").json()["clean"] is True
    shown = api.get("/approvals/APR-000002").json()
    assert (shown["status"], shown["loan_version"]) == (
        "approved",
        paid.json()["result"]["version"],
    )


def test_an_operator_cannot_approve_an_auditor_cannot_ask_nor_the_requester_approve(
    paid_off: Api,
) -> None:
    api = paid_off
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 202
    before = api.events()
    assert_problem(approve(api, "APR-000001", **api.operator), 403, "needs approver")
    assert_problem(api.post("/loans/FEE/waivers", WAIVE_FEE, **api.auditor), 403, "auditor")
    too_much = api.post("/loans/FEE/refunds", {**REFUND, "amount": "300.01"})
    assert_problem(too_much, 422, "cannot refund 300.01")  # even with the waiver carried out
    assert api.events() == before


def test_the_requester_with_the_approver_role_cannot_approve_their_own_request(
    paid_off: Api,
) -> None:
    api = paid_off
    asked = api.post("/loans/FEE/waivers", WAIVE_FEE, **api.approver)
    assert asked.status_code == 202, asked.text
    before = api.events()
    assert_problem(approve(api, "APR-000001"), 403, "cannot approve their own request")
    rejected = api.client.post(
        "/approvals/APR-000001/reject", json={"reason": "mine"}, headers=api.approver
    )
    assert_problem(rejected, 403, "cannot reject their own request")
    assert api.events() == before


def test_a_rejection_needs_a_reason_and_an_approval_is_run_once_per_idempotency_key(
    paid_off: Api,
) -> None:
    api = paid_off
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 202
    before = api.events()
    for body in ({}, {"reason": ""}, {"reason": "x", "extra": 1}):
        answer = api.client.post("/approvals/APR-000001/reject", json=body, headers=api.approver)
        assert answer.status_code == 422, (body, answer.text)
    assert_problem(approve(api, "APR-000404"), 404, "unknown approval request")
    assert api.events() == before
    first = approve(api, "APR-000001", **{"Idempotency-Key": "ok-1"})
    again = approve(api, "APR-000001", **{"Idempotency-Key": "ok-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and first.json() == again.json()
    assert api.get("/loans/FEE").json()["credit"] == "300.00"  # waived once
    assert_problem(approve(api, "APR-000001"), 422, "already approved")
