"""Write-off and recovery over HTTP (loan-rules §14), on SQLite and PostgreSQL: the write-off
waits for a second person (202), the approver carries it out, a recovery reduces what is
written off, and every bad input is a problem answer (4xx) that writes no event.

The loan: 6,000.00 over 6 months from 2026-01-15 at 0.05 % a day, its account empty, closed
through 2026-03-31 (two installments overdue)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate
from tests.interface.test_api import Api, assert_problem, serve

LOAN = {"loan_id": "LOST", "product": "repay_on_schedule", "principal": "6000.00", "term": 6,
        "disbursed_on": "2026-01-15", "daily_rate": "0.0005"}  # fmt: skip


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    """The business date is 2026-06-30."""
    app.business_date = BusinessDate.from_env({"LEDGER_TODAY": "2026-06-30"})
    yield from serve(app)


@pytest.fixture
def lost(api: Api) -> Api:
    assert api.post("/loans", LOAN).status_code == 201
    api.app.set_balance("LOST", Decimal(0))
    api.app.close_days(date(2026, 3, 31))
    return api


def refused(api: Api, path: str, body: dict[str, Any], status: int, needle: str) -> None:
    before = api.events()
    assert_problem(api.post(path, body), status, needle)
    assert api.events() == before


def test_a_write_off_is_approved_by_a_second_person_and_a_recovery_reduces_it(lost: Api) -> None:
    asked = lost.post("/loans/LOST/write-offs", {"reason": "uncollectable"})
    assert asked.status_code == 202, asked.text
    reference = asked.json()["approval"]["approval_id"]
    approved = lost.client.post(f"/approvals/{reference}/approve", headers=lost.approver)
    assert approved.status_code == 200, approved.text
    result = approved.json()["result"]
    assert (result["on"], result["principal"], result["status"]) == (
        "2026-04-01",
        "6000.00",
        "written_off",
    )
    recovered = lost.post("/loans/LOST/recoveries", {"amount": "500.00", "on": "2026-05-01"})
    assert recovered.status_code == 201, recovered.text
    left = Decimal(result["total"]) - Decimal("500.00")
    assert recovered.json()["outstanding_after"] == str(left)
    shown = lost.get("/loans/LOST").json()
    assert (shown["status"], shown["amount_due"], shown["written_off_outstanding"]) == (
        "written_off",
        "0.00",
        str(left),
    )
    refused(lost, "/loans/LOST/recoveries", {"amount": "99999.00"}, 422, "not yet recovered")
    refused(lost, "/loans/LOST/recoveries", {"amount": "0.00"}, 422, "amount")
    refused(lost, "/loans/LOST/write-offs", {"reason": "again"}, 422, "written off")


def test_every_bad_write_off_or_recovery_is_a_problem_with_no_event(lost: Api) -> None:
    refused(lost, "/loans/LOST/recoveries", {"amount": "10.00"}, 422, "is not written off")
    refused(lost, "/loans/LOST/write-offs", {"reason": "x", "on": "2026-03-01"}, 422, "closed")
    refused(lost, "/loans/LOST/write-offs", {"reason": "x", "on": "2026-07-01"}, 422, "after")
    refused(lost, "/loans/NOPE/write-offs", {"reason": "x"}, 404, "unknown loan")
    refused(lost, "/loans/LOST/write-offs", {}, 422, "reason")
