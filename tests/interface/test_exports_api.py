"""``GET /exports/{name}`` on SQLite and PostgreSQL: auditors download what ``ledger export``
writes, as text/csv or application/json; refusals are problems and write nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from ledger.read.exports.core import cell
from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_api import Api, assert_problem, serve
from tests.interface.test_projections_cli import ALICE


@pytest.fixture
def api(app: LedgerApp, ledger: Ledger) -> Iterator[Api]:
    """The API on a book of two loans (BOB overdue), closed through 2026-03-01 by the CLI."""
    ledger.ok(*ALICE, "--loan-id", "ALICE")
    ledger.ok(*ALICE, "--loan-id", "BOB")
    ledger.ok("bank", "set-balance", "BOB", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    yield from serve(app)


def test_an_auditor_downloads_the_balances_as_csv_with_a_filename(api: Api) -> None:
    answer = api.get("/exports/balances?format=csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="balances-current.csv"'
    assert answer.headers["x-ledger-behind"] == "0"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    listed = api.get("/loans").json()["loans"]
    assert [{k: r[k] for k in loan} for r, loan in zip(rows, listed, strict=True)] == [
        {k: cell(v) for k, v in loan.items()} for loan in listed
    ]


def test_the_json_export_of_statements_as_of_a_day_is_what_the_statement_reads_show(
    api: Api,
) -> None:
    answer = api.get("/exports/statements?format=json&as_of=2026-02-28")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert 'filename="statements-2026-02-28.json"' in answer.headers["content-disposition"]
    document = answer.json()
    assert document["as_of"] == "2026-02-28" and document["count"] == 2
    assert document["position"] == int(answer.headers["x-ledger-position"])
    for row in document["rows"]:
        own = api.get(f"/loans/{row['loan_id']}/statements/{row['month']}").json()
        assert {k: row[k] for k in own} == own


def test_every_role_that_reads_may_export_and_no_key_is_401(api: Api) -> None:
    assert api.get("/exports/events", who="operator").status_code == 200
    assert api.client.get("/exports/portfolio", headers=api.approver).status_code == 200
    assert_problem(api.client.get("/exports/balances"), 401, "API key is required")
    wrong = api.client.get("/exports/balances", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401, "unknown API key")


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("/exports/balances?as_of=2026-02-20", 422, "as_of is not supported"),
        ("/exports/schedule?as_of=2026-02-20", 422, "as_of is not supported"),
        ("/exports/statements?format=xml", 422, "format xml: export statements is written as"),
        ("/exports/events?as_of=2026-02-30", 422, "as_of"),
        ("/exports/events?as_of=2031-01-01", 422, "after the business date"),
        ("/exports/portfolio?as_of=2026-03-02", 422, "run only through 2026-03-01"),
        ("/exports/ledgers", 404, "unknown export ledgers"),
    ],
)
def test_a_refused_export_is_a_problem_and_writes_nothing(
    api: Api, query: str, status: int, needle: str
) -> None:
    before = api.events()
    assert_problem(api.get(query), status, needle)
    assert api.events() == before
