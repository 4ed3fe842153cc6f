"""Dispute cases over HTTP, on both stores (issue 14, point 1): a case through every step
with who and when; operators write, auditors read; refusals are problems that write nothing;
an Idempotency-Key retry opens no second case; the list's filters; the report's cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from ledger.services.application import LedgerApp
from tests.interface.test_api import Api, serve

CLAIM = {
    "loan_id": "ALICE",
    "charge": "penalty",
    "amount": "2.25",
    "from": "2026-02-16",
    "to": "2026-02-20",
    "claim": "my salary came a day late; the bank's fault",
    "received_by": "li.wei",
    "channel": "phone",
    "channel_ref": "CALL-5531",
}


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    for served in serve(app):
        served.open_alice()
        app.close_days(date(2026, 2, 20))
        yield served


def test_a_case_goes_through_every_step_over_http(api: Api) -> None:
    opened = api.post("/disputes", CLAIM)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["dispute_id"], case["status"], case["loan_id"]) == ("DSP-000001", "open", "ALICE")
    assert case["claim"]["from"] == "2026-02-16" and case["claim"]["actor"] == "ops-desk"
    path = "/disputes/DSP-000001"
    for body in (
        {"verify": True},
        {"what_if": {"penalty_multiplier": "1.0"}, "note": "at 1.0 it would be 1.50"},
        {"explain": "penalty_accrued"},
    ):
        answer = api.post(f"{path}/findings", body)
        assert answer.status_code == 201, answer.text
    decided = api.post(
        f"{path}/decision",
        {"outcome": "upheld", "reasons": "bank delay", "remedy": "waive", "remedy_amount": "2.25"},
    )
    assert decided.status_code == 201, decided.text
    closed = api.post(f"{path}/closure", {"note": "waived and told the borrower"})
    assert closed.status_code == 201 and closed.json()["status"] == "closed"
    shown = api.get(path).json()  # an auditor reads it
    assert [f["kind"] for f in shown["findings"]] == ["verify", "what_if", "explain"]
    assert shown["findings"][1]["subject"] == {"set": {"penalty_multiplier": "1.0"}}
    assert shown["decision"]["remedy_amount"] == "2.25"
    assert shown == api.get(f"/disputes/{shown['uuid']}").json()  # by its UUID too
    events = api.client.get("/loans/ALICE/events", headers=api.operator).json()
    assert all(e["type"] != "Opened" for e in events)  # the case's events are its own
    report = api.get("/loans/ALICE/report").json()
    assert [c["dispute_id"] for c in report["disputes"]] == ["DSP-000001"]
    markdown = api.get("/loans/ALICE/report?format=md").text
    assert "## Dispute cases" in markdown and "bank delay" in markdown


def test_auditors_read_cases_but_write_none(api: Api) -> None:
    assert api.post("/disputes", CLAIM).status_code == 201
    before = api.events()
    for path, body in (
        ("/disputes", CLAIM),
        ("/disputes/DSP-000001/findings", {"verify": True}),
        ("/disputes/DSP-000001/decision", {"outcome": "rejected", "reasons": "r"}),
        ("/disputes/DSP-000001/closure", {"note": "n"}),
    ):
        answer = api.client.post(path, json=body, headers=api.auditor)
        assert answer.status_code == 403, (path, answer.text)
    assert api.events() == before
    assert api.get("/disputes").json()["total"] == 1
    assert api.client.get("/disputes").status_code == 401


def bad(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {**CLAIM, **changes}.items() if v is not None}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/disputes", bad({"amount": 2.25}), 422),
        ("/disputes", bad({"amount": "1,50"}), 422),
        ("/disputes", bad({"charge": "insurance"}), 422),
        ("/disputes", bad({"from": "2026-02-21", "to": "2026-02-20"}), 422),
        ("/disputes", bad({"to": "2031-01-01"}), 422),
        ("/disputes", bad({"claim": "two\nlines"}), 422),
        ("/disputes", bad({"claim": None}), 422),
        ("/disputes", bad({"loan_id": "NOBODY"}), 404),
        ("/disputes", bad({"from_": "2026-02-16"}), 422),
        ("/disputes/DSP-000001/findings", {}, 422),
        ("/disputes/DSP-000001/findings", {"verify": True, "explain": "credit"}, 422),
        ("/disputes/DSP-000001/findings", {"what_if": {"colour": "red"}}, 422),
        ("/disputes/DSP-000001/findings", {"explain": "happiness"}, 422),
        ("/disputes/DSP-000009/findings", {"verify": True}, 404),
        ("/disputes/DSP-000001/decision", {"outcome": "upheld", "reasons": "r"}, 422),
        ("/disputes/DSP-000001/decision", {"outcome": "maybe", "reasons": "r"}, 422),
        ("/disputes/DSP-000001/closure", {"note": "not decided yet"}, 422),
        ("/disputes/%3Cb%3E/closure", {"note": "n"}, 422),
    ],
)
def test_a_refused_command_is_a_problem_and_writes_nothing(
    api: Api, path: str, body: dict[str, Any], status: int
) -> None:
    assert api.post("/disputes", CLAIM).status_code == 201
    before = api.events()
    answer = api.post(path, body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "\n" not in answer.json()["detail"]
    assert api.events() == before


def test_a_second_decision_and_anything_after_closing_are_refused(api: Api) -> None:
    assert api.post("/disputes", CLAIM).status_code == 201
    path = "/disputes/DSP-000001"
    assert api.post(f"{path}/decision", {"outcome": "rejected", "reasons": "r"}).status_code == 201
    before = api.events()
    again = api.post(f"{path}/decision", {"outcome": "upheld", "reasons": "r", "remedy": "x"})
    assert again.status_code == 422 and "already decided" in again.json()["detail"]
    assert api.post(f"{path}/closure", {"note": "told"}).status_code == 201
    after_close = api.post(f"{path}/findings", {"verify": True})
    assert after_close.status_code == 422 and "closed" in after_close.json()["detail"]
    assert api.events() == before + 1


def test_a_retry_with_the_same_idempotency_key_opens_no_second_case(api: Api) -> None:
    first = api.post("/disputes", CLAIM, **{"Idempotency-Key": "call-5531"})
    before = api.events()
    again = api.post("/disputes", CLAIM, **{"Idempotency-Key": "call-5531"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert api.events() == before
    assert api.get("/disputes").json()["total"] == 1


def test_cases_are_listed_by_loan_and_status(api: Api) -> None:
    for _ in range(2):
        assert api.post("/disputes", CLAIM).status_code == 201
    assert api.post("/disputes/DSP-000002/decision", {"outcome": "rejected", "reasons": "r"})
    listed = api.get("/disputes?loan=ALICE").json()
    assert [r["dispute_id"] for r in listed["disputes"]] == ["DSP-000001", "DSP-000002"]
    assert [r["status"] for r in listed["disputes"]] == ["open", "decided"]
    assert api.get("/disputes?status=decided").json()["disputes"][0]["outcome"] == "rejected"
    assert api.get("/disputes?status=closed").json() == {"disputes": [], "total": 0}
    assert api.get("/disputes?status=pending").status_code == 422
    assert api.get("/disputes?loan=NOBODY").status_code == 404
    assert api.get("/disputes/DSP-000003").status_code == 404
