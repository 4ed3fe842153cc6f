"""Restructuring over HTTP (loan-rules §16), on SQLite and PostgreSQL: the preview writes
nothing, the restructuring waits for a second person (always 202), the approver carries it
out, ``GET /loans/{id}/verify`` replays it clean, and every bad input is a problem answer (4xx)
that writes no event.

The loan, worked by hand (as in tests/interface/test_restructure_cli.py): RS, 12,000.00 over
12 months, equal principal, 0.05 % a day, from 2026-01-15, paying every deduction, closed
through 2026-03-19; restructured on 2026-03-20 to 22 installments at 0.04 % a day: 10,000.00
re-planned over 20, step 500.00, installment 3 planned 500.00 + 120.00 interest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate
from tests.interface.test_api import Api, assert_problem, serve

LOAN = {"loan_id": "RS", "product": "equal_principal", "principal": "12000.00", "term": 12,
        "disbursed_on": "2026-01-15", "daily_rate": "0.0005"}  # fmt: skip
ASK = {"term": 22, "rate": "0.0004", "on": "2026-03-20", "reason": "hardship"}


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    """The business date is 2026-06-30."""
    app.business_date = BusinessDate.from_env({"LEDGER_TODAY": "2026-06-30"})
    yield from serve(app)


@pytest.fixture
def rs(api: Api) -> Api:
    assert api.post("/loans", LOAN).status_code == 201
    api.app.set_balance("RS", Decimal("100000.00"))
    api.app.close_days(date(2026, 3, 19))
    return api


def refused(api: Api, path: str, body: dict[str, Any], status: int, needle: str) -> None:
    before = api.events()
    assert_problem(api.post(path, body), status, needle)
    assert api.events() == before


def test_a_preview_writes_nothing_and_a_restructuring_is_approved_by_a_second_person(
    rs: Api,
) -> None:
    before = rs.events()
    shown = rs.post("/loans/RS/restructurings/preview", {k: ASK[k] for k in ("term", "rate", "on")})
    assert shown.status_code == 200, shown.text
    preview = shown.json()
    assert (preview["written"], preview["principal_step"], preview["last_k"]) == (
        False,
        "500.00",
        22,
    )
    assert (
        preview["plan"][0]["new_total"] == "620.00" and preview["plan"][0]["old_total"] == "1150.00"
    )
    assert rs.events() == before
    asked = rs.post("/loans/RS/restructurings", ASK)
    assert asked.status_code == 202, asked.text
    assert asked.json()["approval"]["rule"] == "four_eyes"
    reference = asked.json()["approval"]["approval_id"]
    approved = rs.client.post(f"/approvals/{reference}/approve", headers=rs.approver)
    assert approved.status_code == 200, approved.text
    result = approved.json()["result"]
    assert (result["kind"], result["emi"], result["principal_step"]) == (
        "new_term_and_rate", "565.38", "500.00",
    )  # fmt: skip
    verified = rs.get("/loans/RS/verify")
    assert verified.status_code == 200 and verified.json()["clean"] is True, verified.text


def test_every_bad_restructuring_is_a_problem_with_no_event(rs: Api) -> None:
    path = "/loans/RS/restructurings"
    refused(rs, path, {**ASK, "term": 2}, 422, "already fixed")
    refused(rs, path, {**ASK, "term": 361}, 422, "term")
    refused(rs, path, {**ASK, "rate": "0.5"}, 422, "daily_rate")
    refused(rs, path, {**ASK, "on": "2026-03-10"}, 422, "already closed")
    refused(rs, path, {"on": "2026-03-20", "reason": "r"}, 422, "term, rate")
    refused(rs, path, {"term": 20}, 422, "reason")
    refused(rs, path + "/preview", {"term": 12, "on": "2026-03-20"}, 422, "already the term")
    refused(rs, "/loans/NOPE/restructurings/preview", {"term": 20}, 404, "NOPE")


def test_a_payment_holiday_is_previewed_asked_approved_and_verified_over_http(rs: Api) -> None:
    """A holiday of 2 on 2026-03-20: installments 3 and 4 moved, the last one 12 -> 14,
    installment 5 planned 1,000.00 + round(10,000.00 x 0.015 x 3) = 450.00."""
    holiday = {"holiday": 2, "on": "2026-03-20"}
    before = rs.events()
    shown = rs.post("/loans/RS/restructurings/preview", holiday)
    assert shown.status_code == 200, shown.text
    rows = {row["k"]: row for row in shown.json()["plan"]}
    assert (shown.json()["kind"], shown.json()["holiday"], shown.json()["last_k"]) == (
        "payment_holiday", 2, 14,
    )  # fmt: skip
    assert (rows[3]["new_total"], rows[5]["new_interest"]) == ("0.00", "450.00")
    assert rs.events() == before
    asked = rs.post("/loans/RS/restructurings", {**holiday, "reason": "hospital stay"})
    assert asked.status_code == 202, asked.text
    reference = asked.json()["approval"]["approval_id"]
    approved = rs.client.post(f"/approvals/{reference}/approve", headers=rs.approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"]["holiday"] == 2
    schedule = rs.get("/loans/RS/schedule")
    assert schedule.status_code == 200, schedule.text
    assert [row["status"] for row in schedule.json()[2:5]] == ["holiday", "holiday", "upcoming"]
    verified = rs.get("/loans/RS/verify")
    assert verified.status_code == 200 and verified.json()["clean"] is True, verified.text


def test_a_bad_payment_holiday_is_a_problem_with_no_event(rs: Api) -> None:
    path = "/loans/RS/restructurings"
    asked = {"on": "2026-03-20", "reason": "r"}
    refused(rs, path, {**asked, "holiday": 13}, 422, "holiday")
    refused(rs, path, {**asked, "holiday": 0}, 422, "holiday")
    refused(rs, path, {**asked, "holiday": 2, "term": 20}, 422, "not both")
    refused(rs, path + "/preview", {"holiday": 2, "term": 20, "on": "2026-03-20"}, 422, "not both")
