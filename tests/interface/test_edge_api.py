"""The edge of the ledger over HTTP (issue 10), on SQLite and PostgreSQL.

Every refusal is a 4xx (or a 503 that says when to retry) ``application/problem+json`` with a
one-line detail, never a 500, and writes not one event. The business date is 2026-03-01
(``$LEDGER_TODAY``), except where the clock is the point.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient
from uvicorn.protocols.utils import get_path_with_query_string

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.adapters.clock import FakeClock
from ledger.bootstrap import RedactQuery
from ledger.domain.account import account_id_for
from ledger.domain.calendar import calendar_id_for
from ledger.domain.errors import OutOfBusinessDay
from ledger.domain.loan import Loan
from ledger.services import audit
from ledger.services.application import LedgerApp, loan_id_for
from ledger.services.business_date import BusinessDate
from ledger.services.products import terms_from_input

TODAY = "2026-03-01"
ALICE = {
    "loan_id": "ALICE",
    "product": "repay_on_schedule",
    "principal": "12000.00",
    "term": 12,
    "disbursed_on": "2026-01-15",
    "daily_rate": "0.0005",
}
PAY = {"amount": "10.00", "on": "2026-02-16"}
FULL_WIDTH_10 = "\uff11\uff10"  # the full-width digits of "10"
LOOSE_AMOUNTS = ["1,50", FULL_WIDTH_10, "1e3", "1,000.00", " 12.34", "+5", "\u0661\u0660"]
LOOSE_DATES = ["20260301", "2026-W10-1", "2026-02-30", "0001-01-01", "9999-12-31", "2026-3-1"]


class Api:
    """A TestClient on one store, with an operator, a second operator and an auditor."""

    def __init__(self, client: TestClient, app: LedgerApp, keys: dict[str, str]) -> None:
        self.client, self.app = client, app
        self.headers = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}

    def events(self) -> int:
        return len(self.app.recorder.select_notifications(start=None, limit=10**9))

    def post(self, path: str, body: Any, who: str = "ops", **headers: str) -> Any:
        return self.client.post(path, json=body, headers={**self.headers[who], **headers})

    def get(self, path: str, who: str = "auditor") -> Any:
        return self.client.get(path, headers=self.headers[who])

    def open_alice(self) -> None:
        assert self.post("/loans", ALICE).status_code == 201
        self.app.set_balance("ALICE", Decimal(0))  # nothing is collected: something is due


@contextmanager
def serve(app: LedgerApp) -> Iterator[Api]:
    keys, stored = {}, []
    people = (("ops", "operator"), ("ops2", "operator"), ("auditor", "auditor"),
              ("boss", "approver"))  # fmt: skip
    for name, role in people:
        key, hashed = new_key(name, role)
        keys[name] = key
        stored.append(hashed)
    with TestClient(create_app(app, stored), raise_server_exceptions=False) as client:
        yield Api(client, app, keys)


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("LEDGER_TODAY", TODAY)
    app = LedgerApp.from_url(db_url)
    try:
        with serve(app) as served:
            yield served
    finally:
        app.close()


@pytest.fixture
def alice(api: Api) -> Api:
    api.open_alice()
    return api


def assert_problem(response: Any, *statuses: int) -> str:
    """A problem+json answer with one of ``statuses`` (never a 5xx other than 503)."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    detail: str = body["detail"]
    assert detail and "\n" not in detail and "Traceback" not in detail
    if response.status_code == 503:
        assert response.headers.get("retry-after"), "a 503 says when to retry"
    return detail


def assert_refused(api: Api, response: Any, before: int, *needles: str, status: int = 422) -> str:
    detail = assert_problem(response, status)
    for needle in needles:
        assert needle in detail, detail
    assert api.events() == before, "a refusal wrote events"
    return detail


# --------------------------------------------------------------------------- the business date


def test_a_repayment_dated_2060_is_refused_naming_the_allowed_range(alice: Api) -> None:
    before = alice.events()
    late = alice.post("/loans/ALICE/repayments", {"amount": "10.00", "on": "2060-01-15"})
    detail = assert_refused(alice, late, before, "2060-01-15", TODAY, "allowed")
    assert "2026-01-15 to 2026-03-01" in detail


def test_a_loan_disbursed_on_9999_12_31_is_refused_twice_and_every_read_still_answers(
    alice: Api,
) -> None:
    alice.app.close_days(date(2026, 2, 1))
    before = alice.events()
    far = {**ALICE, "loan_id": "FAR", "disbursed_on": "9999-12-31"}
    for _ in range(2):  # the same Idempotency-Key twice: still nothing stored
        refused = alice.post("/loans", far, **{"Idempotency-Key": "far-1"})
        assert_refused(alice, refused, before, "disbursed_on", "9999-12-31", " to ")
    soon = {**ALICE, "loan_id": "SOON", "disbursed_on": "2026-03-02"}
    assert_refused(alice, alice.post("/loans", soon), before, "2026-03-02", TODAY, "allowed")
    for path in (
        "/loans/ALICE",
        "/loans/ALICE/schedule",
        "/loans/ALICE/statements/2026-02",
        "/status",
        "/portfolio",
    ):
        assert alice.get(path).status_code == 200, path
    assert_problem(alice.get("/loans/FAR"), 404)


def test_a_date_equal_to_the_business_date_is_accepted(alice: Api) -> None:
    paid = alice.post("/loans/ALICE/repayments", {"amount": "10.00", "on": TODAY})
    assert paid.status_code == 201, paid.text
    opened = alice.post("/loans", {**ALICE, "loan_id": "TODAY", "disbursed_on": TODAY})
    assert opened.status_code == 201, opened.text


def test_status_says_which_business_date_is_in_force_and_where_it_came_from(api: Api) -> None:
    status = api.get("/status")
    assert status.status_code == 200
    assert status.json()["business_date"] == {"business_today": TODAY, "source": "LEDGER_TODAY"}


def test_without_ledger_today_the_clock_in_the_business_timezone_decides(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_TODAY")
    clock = FakeClock(datetime(2026, 2, 28, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    app = LedgerApp.from_url(db_url, business_date=BusinessDate.from_env(os.environ, clock=clock))
    try:
        assert app.business_date.today().day == date(2026, 2, 28)
        with serve(app) as api:
            api.open_alice()
            status = api.get("/status").json()["business_date"]
            assert status == {"business_today": "2026-02-28", "source": "clock (Asia/Shanghai)"}
            before = api.events()
            early = api.post("/loans/ALICE/repayments", {"amount": "10.00", "on": TODAY})
            assert_refused(api, early, before, TODAY, "2026-02-28", "clock")
            with pytest.raises(OutOfBusinessDay, match=r"clock \(Asia/Shanghai\)"):
                app.close_days(date(2026, 3, 1))
            assert api.events() == before
            clock.advance(hours=1)  # 00:30 on 1 March in Shanghai, 16:30 UTC on 28 February
            paid = api.post("/loans/ALICE/repayments", {"amount": "10.00", "on": TODAY})
            assert paid.status_code == 201, paid.text
    finally:
        app.close()


# --------------------------------------------------------------------------- money and dates


def test_money_written_loosely_is_refused_as_a_repayment_and_as_a_principal(alice: Api) -> None:
    before = alice.events()
    for amount in LOOSE_AMOUNTS:
        repaid = alice.post("/loans/ALICE/repayments", {**PAY, "amount": amount})
        assert "amount" in assert_problem(repaid, 422), amount
        opened = alice.post("/loans", {**ALICE, "loan_id": "BOB", "principal": amount})
        assert "principal" in assert_problem(opened, 422), amount
    numbers: list[Any] = [10, 10.5, True, None, [], {}]
    for number in numbers:
        repaid = alice.post("/loans/ALICE/repayments", {**PAY, "amount": number})
        assert "amount" in assert_problem(repaid, 422), number
    assert alice.events() == before


def test_a_date_written_loosely_is_refused_as_a_repayment_and_as_a_disbursement(
    alice: Api,
) -> None:
    before = alice.events()
    for day in LOOSE_DATES:
        repaid = alice.post("/loans/ALICE/repayments", {**PAY, "on": day})
        assert "on" in assert_problem(repaid, 422), day
        opened = alice.post("/loans", {**ALICE, "loan_id": "BOB", "disbursed_on": day})
        assert "disbursed_on" in assert_problem(opened, 422), day
        asked = alice.get(f"/loans/ALICE?as_of={quote(day)}")
        assert_problem(asked, 422)
    assert alice.events() == before


def test_money_written_strictly_is_recorded_exactly(alice: Api) -> None:
    paid = alice.post("/loans/ALICE/repayments", {**PAY, "amount": "1.5"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount"] == "1.50"
    [repaid] = [e for e in alice.app.loan_events("ALICE") if isinstance(e, Loan.Repaid)]
    assert repaid.amount == Decimal("1.50")


def test_a_daily_rate_too_small_to_be_meant_is_refused_on_open_and_what_if(alice: Api) -> None:
    before = alice.events()
    for rate in ("1e-30", "0.000000000000000000000000000001", "0.0000000001", "0"):
        opened = alice.post("/loans", {**ALICE, "loan_id": "TINY", "daily_rate": rate})
        assert "daily_rate" in assert_problem(opened, 422), rate
        asked = alice.post("/loans/ALICE/what-if", {"set": {"daily_rate": rate}}, who="auditor")
        assert "daily_rate" in assert_problem(asked, 422), rate
    assert alice.events() == before


STRICT_CASES = [
    ("/loans", {**ALICE, "loan_id": "BOB", "term": True}, "term"),
    ("/loans", {**ALICE, "loan_id": "BOB", "term": "12"}, "term"),
    ("/loans", {**ALICE, "loan_id": "BOB", "term": 12.0}, "term"),
    ("/loans", {**ALICE, "loan_id": "BOB", "grace_days": False}, "grace_days"),
    ("/loans/ALICE/prepayments", {"on": TODAY, "full": "true"}, "full"),
    ("/loans/ALICE/prepayments", {"on": TODAY, "full": 1}, "full"),
    ("/loans/ALICE/repayments", {**PAY, "backdated": "yes"}, "backdated"),
    ("/loans/ALICE/repayments", {**PAY, "backdated": 1}, "backdated"),
    ("/loans/ALICE/reversals", {"event": True, "reason": "bounced"}, "event"),
    ("/loans/ALICE/reversals", {"event": "3", "reason": "bounced"}, "event"),
]


def test_numbers_and_booleans_are_strict_term_true_is_not_one_month_full_true_is_no_payoff(
    alice: Api,
) -> None:
    before = alice.events()
    for path, body, field in STRICT_CASES:
        assert field in assert_problem(alice.post(path, body), 422), (path, body)
    assert alice.events() == before
    assert alice.app.get_loan("ALICE").loan_status != "closed"


# --------------------------------------------------------------------------- identifiers


def _ids_that_are_not_references() -> dict[str, str]:
    return {
        "calendar": str(calendar_id_for(0, 1)),
        "calendar, upper case": str(calendar_id_for(0, 1)).upper(),
        "calendar, without hyphens": calendar_id_for(0, 1).hex,
        "account of ALICE": str(account_id_for(loan_id_for("ALICE"))),
        "a UUID": "123e4567-e89b-12d3-a456-426614174000",
        "blank": "",
        "spaces": "   ",
        "multi-line": "BOB\nCAROL",
        "non-ASCII": "\u8d37\u6b3e9",
        "full-width": "\uff22\uff2f\uff22",
        "65 characters": "B" * 65,
        "HTML": "<b>BOB</b>",
    }


def test_a_loan_id_that_could_collide_or_is_malformed_is_refused_and_the_book_still_works(
    alice: Api,
) -> None:
    before = alice.events()
    for which, loan_id in _ids_that_are_not_references().items():
        refused = alice.post("/loans", {**ALICE, "loan_id": loan_id})
        assert "loan_id" in assert_problem(refused, 422), which
    huge = alice.post("/loans", {**ALICE, "loan_id": "B" * 5_000_000})
    assert_problem(huge, 413, 422)
    assert alice.events() == before
    report = alice.app.close_days(date(2026, 1, 20))
    assert report.failures == [] and report.last_closed == date(2026, 1, 20)
    assert alice.get("/status").status_code == 200
    assert alice.get("/loans/ALICE").status_code == 200


def test_an_internal_id_or_a_malformed_id_in_a_path_is_a_4xx(alice: Api) -> None:
    alice.app.close_days(date(2026, 1, 20))
    before = alice.events()
    for which in ("calendar", "account of ALICE"):
        internal = _ids_that_are_not_references()[which]
        for path in ("", "/schedule", "/events", "/verify", "/explain"):
            assert_problem(alice.get(f"/loans/{internal}{path}"), 404)
        paid = alice.post(f"/loans/{internal}/repayments", PAY)
        assert "unknown loan" in assert_problem(paid, 404), which
    for which in ("spaces", "multi-line", "non-ASCII", "65 characters", "HTML"):
        loan_id = quote(_ids_that_are_not_references()[which], safe="")
        assert_problem(alice.get(f"/loans/{loan_id}"), 404, 422)
        assert_problem(alice.post(f"/loans/{loan_id}/repayments", PAY), 404, 422)
    assert alice.events() == before


# --------------------------------------------------------------------------- known_at

KNOWN_AT_ENDPOINTS = [
    "/loans/ALICE",
    "/loans/ALICE/explain",
    "/loans/ALICE?as_of=2026-01-20",
    "/loans/ALICE/explain?as_of=2026-01-20",
    "/loans/ALICE/schedule",
]
MOMENTS = [
    "2026-02-01T10:00:00",  # no offset: before anything was recorded
    "2999-01-01T00:00:00",  # no offset: after everything was recorded
    "2999-01-01 00:00",
    "2999-01-01T00:00:00Z",
    "2999-01-01T00:00:00+08:00",
    "2999-01-01",
    "yesterday",
    "9999-12-31T23:59:59",
    "2999-01-01T00:00:00+25:00",
]


def test_known_at_without_an_offset_answers_200_or_a_4xx_never_a_500(alice: Api) -> None:
    alice.app.close_days(date(2026, 1, 20))
    for endpoint in KNOWN_AT_ENDPOINTS:
        separator = "&" if "?" in endpoint else "?"
        for moment in MOMENTS:
            answer = alice.get(f"{endpoint}{separator}known_at={quote(moment)}")
            if answer.status_code != 200:
                assert_problem(answer, 400, 404, 409, 422)
    naive = alice.get(f"/loans/ALICE/explain?known_at={quote('2999-01-01T00:00:00')}")
    assert naive.status_code == 200, naive.text
    assert naive.json()["known_at"] == "2999-01-01T00:00:00+08:00"  # the business timezone


# --------------------------------------------------------------------------- keys and callers


def test_an_api_key_in_the_query_string_is_refused(alice: Api) -> None:
    key = alice.headers["ops"]["Authorization"].removeprefix("Bearer ")
    before = alice.events()
    assert_problem(alice.client.get(f"/loans/ALICE?api_key={key}"), 401)
    paid = alice.client.post(f"/loans/ALICE/repayments?api_key={key}", json=PAY)
    assert_refused(alice, paid, before, status=401)


def test_the_access_log_line_never_holds_the_query_string() -> None:
    key = "lk_secret_key_that_must_not_be_logged"
    scope: Any = {  # as uvicorn's HTTP protocols make it (newer ones log raw_path)
        "path": "/loans/ALICE",
        "raw_path": b"/loans/ALICE",
        "root_path": "",
        "query_string": f"api_key={key}&as_of=x".encode(),
    }
    path = get_path_with_query_string(scope)
    assert key in path  # uvicorn would log it
    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", path, "1.1", 401),
        None,
    )
    assert RedactQuery().filter(record) is True
    line = record.getMessage()
    assert key not in line and "api_key" not in line
    assert line == '127.0.0.1:50000 - "GET /loans/ALICE HTTP/1.1" 401'


def test_an_idempotency_key_reused_by_another_caller_runs_that_callers_own_command(
    alice: Api,
) -> None:
    first = alice.post("/loans/ALICE/repayments", PAY, **{"Idempotency-Key": "pay-1"})
    assert first.status_code == 201, first.text
    after_first = alice.events()
    again = alice.post("/loans/ALICE/repayments", PAY, **{"Idempotency-Key": "pay-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert alice.events() == after_first
    theirs = alice.post("/loans/ALICE/repayments", PAY, "ops2", **{"Idempotency-Key": "pay-1"})
    assert theirs.status_code == 201, theirs.text
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json() != first.json()  # a second repayment: less is due after it
    assert alice.events() > after_first
    other_body = {**PAY, "amount": "20.00"}
    own = alice.post("/loans/ALICE/repayments", other_body, "ops2", **{"Idempotency-Key": "p-2"})
    assert own.status_code == 201, own.text
    repaid = [e for e in alice.app.loan_events("ALICE") if isinstance(e, Loan.Repaid)]
    assert [e.amount for e in repaid] == [Decimal("10.00"), Decimal("10.00"), Decimal("20.00")]
    assert [e.recorded_by for e in repaid] == ["api:ops", "api:ops2", "api:ops2"]


def test_an_idempotency_key_whose_command_was_busy_is_released(
    alice: Api, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer wins every version check: 503 Busy, nothing of ours stored, and a retry
    with the same key runs the command."""
    monkeypatch.setattr("ledger.services.store.COMMAND_ATTEMPTS", 3)
    intruder = LedgerApp.from_url(db_url)
    ours = alice.app.repay

    def contended(reference: str, amount: Decimal, on: date) -> Any:
        result = ours(reference, amount, on)
        intruder.repay(reference, Decimal("1.00"), on)  # saved at once, before our save
        return result

    body = {"amount": "7.77", "on": "2026-02-16"}
    try:
        monkeypatch.setattr(alice.app, "repay", contended)
        busy = alice.post("/loans/ALICE/repayments", body, **{"Idempotency-Key": "k"})
        assert "another writer" in assert_problem(busy, 503)
        monkeypatch.setattr(alice.app, "repay", ours)
    finally:
        intruder.close()
    repaid = [e.amount for e in alice.app.loan_events("ALICE") if isinstance(e, Loan.Repaid)]
    assert Decimal("7.77") not in repaid and repaid.count(Decimal("1.00")) == 3
    retried = alice.post("/loans/ALICE/repayments", body, **{"Idempotency-Key": "k"})
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    repaid = [e.amount for e in alice.app.loan_events("ALICE") if isinstance(e, Loan.Repaid)]
    assert repaid.count(Decimal("7.77")) == 1
    replayed = alice.post("/loans/ALICE/repayments", body, **{"Idempotency-Key": "k"})
    assert replayed.headers.get("Idempotent-Replayed") == "true"


def test_the_sign_in_cookie_is_secure_and_http_only(api: Api) -> None:
    key = api.headers["auditor"]["Authorization"].removeprefix("Bearer ")
    signed_in = api.client.post(
        "/ui/login",
        content=f"key={key}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"].lower()
    parts = {part.strip().split("=")[0] for part in cookie.split(";")}
    assert {"secure", "httponly"} <= parts, cookie


def test_the_markdown_report_escapes_a_reason_written_as_html(alice: Api) -> None:
    script = "<script>alert('x')</script>"
    waived = alice.post(
        "/loans/ALICE/waivers",
        {"part": "penalty", "amount": "0.01", "reason": script, "on": "2026-02-17"},
    )
    assert waived.status_code == 202, waived.text  # four eyes: a second person approves
    request = waived.json()["approval"]["approval_id"]
    assert alice.post(f"/approvals/{request}/approve", None, who="boss").status_code == 200
    md = alice.get("/loans/ALICE/report?format=md")
    assert md.status_code == 200
    assert "&lt;script&gt;" in md.text and "<script" not in md.text


# --------------------------------------------------------------------------- database errors


def test_a_database_error_is_a_503_problem_with_a_retry_hint(
    alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = alice.events()
    for error in (
        psycopg.OperationalError("server closed the connection unexpectedly\n\tProbably..."),
        sqlite3.OperationalError("database is locked"),
    ):

        def failing(*args: Any, error: Exception = error, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(alice.app, "get_loan", failing)
        assert "database" in assert_problem(alice.post("/loans/ALICE/repayments", PAY), 503)
        assert "database" in assert_problem(alice.get("/loans/ALICE/events"), 503)
    assert alice.events() == before


# --------------------------------------------------------------------------- concurrent writers


def _answers_are_201_or_a_retryable_problem(answers: list[Any]) -> int:
    """Each answer is 201 or a 409/503 problem; returns how many were 201."""
    for answer in answers:
        if answer.status_code != 201:
            assert_problem(answer, 409, 503)
    return sum(1 for a in answers if a.status_code == 201)


def _repaid(app: LedgerApp, reference: str) -> list[Decimal]:
    return [e.amount for e in app.loan_events(reference) if isinstance(e, Loan.Repaid)]


def test_api_repayments_while_close_of_business_runs_in_another_app_never_answer_500(
    alice: Api, db_url: str
) -> None:
    for i in range(6):
        terms = terms_from_input(
            product="repay_on_schedule",
            principal="1000.00",
            term=3,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        )
        alice.app.open_loan(terms, f"C{i}")
    worker = LedgerApp.from_url(db_url, batch_size=2)
    errors: list[BaseException] = []

    def close() -> None:
        try:
            report = worker.close_days(date(2026, 2, 5))
            assert report.failures == [], report.failures
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=close)
    try:
        thread.start()
        answers = [
            alice.post("/loans/ALICE/repayments", {"amount": "10.00", "on": TODAY})
            for _ in range(8)
        ]
        thread.join(120)
    finally:
        worker.close()
    assert errors == []
    accepted = _answers_are_201_or_a_retryable_problem(answers)
    assert _repaid(alice.app, "ALICE") == [Decimal("10.00")] * accepted
    assert audit.verify_loan(alice.app, "ALICE").clean


def test_api_repayments_while_another_app_writes_the_same_loan_never_answer_500(
    alice: Api, db_url: str
) -> None:
    alice.app.close_days(date(2026, 2, 20))
    clerk = LedgerApp.from_url(db_url)
    written: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        for _ in range(6):
            try:
                clerk.execute(lambda: clerk.repay("ALICE", Decimal("1.00"), date(2026, 3, 1)))
                written.append("repaid")
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=write)
    try:
        thread.start()
        answers = [
            alice.post("/loans/ALICE/repayments", {"amount": "10.00", "on": TODAY})
            for _ in range(6)
        ]
        thread.join(120)
    finally:
        clerk.close()
    assert [type(e).__name__ for e in errors if type(e).__name__ != "Busy"] == []
    accepted = _answers_are_201_or_a_retryable_problem(answers)
    repaid = _repaid(alice.app, "ALICE")
    assert repaid.count(Decimal("10.00")) == accepted
    assert repaid.count(Decimal("1.00")) == len(written)
    assert audit.verify_loan(alice.app, "ALICE").clean
