"""``ledger audit verify --projections`` and ``GET /audit/projections`` (SQLite and PostgreSQL).

Rows of the read models are edited with SQL behind the ledger's back; the verification
recomputes them from the events with the projections' own code and names exactly the loan,
row and column edited, with the stored and the recomputed value. A clean book is clean, a
projection behind the log or a quarantined loan is not taken for tampering, and bad input is
one line that writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.adapters.sql import Sql
from ledger.domain.terms import Replan
from ledger.services.application import LedgerApp, loan_id_for
from projections import Projections
from projections.verify import verify_projections
from tests.conftest import Ledger
from tests.store.test_projections import random_book
from tests.store.test_quarantine import open_loans, plant_far_future_loan

LOANS = {"ALICE": "repay_on_schedule", "BOB": "equal_principal", "CAROL": "interest_first"}


def open_book(app: LedgerApp, through: date = date(2026, 3, 20)) -> Projections:
    """Three loans: BOB's account is empty (overdue, penalties), CAROL prepays part; every
    projection caught up."""
    open_loans(app, LOANS)
    app.close_days(date(2026, 2, 20))
    app.prepay("CAROL", date(2026, 2, 21), amount=Decimal(3000), replan=Replan.REDUCE_INSTALLMENT)
    app.close_days(through)
    projections = Projections(app)
    projections.catch_up()
    return projections


def edit(app: LedgerApp, table: str, column: str, value: Any, ref: str, where: str = "") -> Any:
    """Set one stored cell with SQL, behind the ledger's back; return what it held."""
    sql = Sql(app)
    name = sql.table(table)
    condition = f"loan_id = ?{' AND ' + where if where else ''}"
    key = str(loan_id_for(ref))
    [(before,)] = sql.query(f"SELECT {column} FROM {name} WHERE {condition}", [key])
    with sql.transaction() as c:
        assert c.execute(f"UPDATE {name} SET {column} = ? WHERE {condition}", [value, key]) == 1
    return before


def tamper(app: LedgerApp) -> list[dict[str, Any]]:
    """Edit one cell of balances, schedule and statements; the differences to expect."""
    principal = edit(app, "ledger_balances", "principal_outstanding", 1, "BOB")
    paid = edit(app, "ledger_schedule", "paid_interest", 4242, "ALICE", "k = 1")
    closing = edit(app, "ledger_statements", "closing_balance", 7, "CAROL", "month = '2026-02'")
    return [
        {"projection": "balances", "loan_id": "BOB", "table": "ledger_balances", "row": "row",
         "column": "principal_outstanding", "stored": 1, "recomputed": principal},
        {"projection": "schedule", "loan_id": "ALICE", "table": "ledger_schedule", "row": "k=1",
         "column": "paid_interest", "stored": 4242, "recomputed": paid},
        {"projection": "statements", "loan_id": "CAROL", "table": "ledger_statements",
         "row": "month=2026-02", "column": "closing_balance", "stored": 7, "recomputed": closing},
    ]  # fmt: skip


def found(differences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("projection", "loan_id", "table", "row", "column", "stored", "recomputed")
    return sorted(
        ({k: d[k] for k in keys} for d in differences), key=lambda d: (d["projection"], d["row"])
    )


def stored_state(app: LedgerApp) -> tuple[int, list[Any]]:
    """The number of events and every projection table with the positions: what a refused
    verification must leave as it was."""
    projections = Projections(app)
    sql = Sql(app)
    positions = sql.query(f"SELECT * FROM {sql.table('ledger_positions')} ORDER BY name")
    events = len(app.recorder.select_notifications(start=None, limit=10**9))
    return events, [positions, *(p.dump() for p in projections.select())]


@pytest.fixture
def auditor(app: LedgerApp) -> Iterator[TestClient]:
    secret, key = new_key("auditor-1", "auditor")
    with TestClient(create_app(app, [key]), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client


# --------------------------------------------------------------------------- what is found


def test_a_clean_book_of_every_product_verifies_clean_against_every_projection(
    app: LedgerApp,
) -> None:
    refs = random_book(app, seed=5, loans=12, days=120)
    projections = Projections(app, page=37)  # batches cut across loans and days
    projections.catch_up()
    check = verify_projections(projections)
    assert check.differences == []
    assert check.clean and check.loans == len(refs)
    assert check.behind == [] and check.quarantined == []
    totals = check.totals.as_dict()
    assert totals["loans_compared"] == len(refs)
    assert totals["stored"] == totals["recomputed_from_balances"]
    assert totals["stored"]["principal_outstanding"] > 0


def test_cells_edited_in_balances_schedule_and_statements_are_reported_exactly(
    app: LedgerApp,
) -> None:
    projections = open_book(app)
    expected = tamper(app)
    check = verify_projections(projections)
    assert not check.clean
    assert found([d.as_dict() for d in check.differences]) == expected
    assert check.dirty_loans() == {str(loan_id_for(r)) for r in ("ALICE", "BOB", "CAROL")}


def test_one_loan_is_verified_alone_and_a_sample_only_its_loans(app: LedgerApp) -> None:
    projections = open_book(app)
    tamper(app)
    alone = verify_projections(projections, loan="BOB")
    assert alone.loans == 1
    assert [(d.loan, d.column) for d in alone.differences] == [("BOB", "principal_outstanding")]
    assert verify_projections(projections, loan=str(loan_id_for("BOB"))).differences
    drawn = verify_projections(projections, sample=2, seed=11)
    assert drawn.loans == 2 and drawn.sample == {"size": 2, "of": 3, "seed": 11}
    again = verify_projections(projections, sample=2, seed=11)
    assert found([d.as_dict() for d in again.differences]) == found(
        [d.as_dict() for d in drawn.differences]
    )
    assert verify_projections(projections, sample=50).loans == 3  # at most the whole book


def test_a_portfolio_segment_edited_is_reported_with_the_totals_it_breaks(
    app: LedgerApp,
) -> None:
    projections = open_book(app)
    principal = edit(
        app, "ledger_portfolio_segments", "principal_outstanding", 5, "ALICE", "valid_to IS NULL"
    )
    check = verify_projections(projections)
    [segment, total] = sorted(check.differences, key=lambda d: d.table)
    assert (segment.projection, segment.loan, segment.column) == (
        "portfolio",
        "ALICE",
        "principal_outstanding",
    )
    assert (segment.stored, segment.recomputed) == (5, principal)
    assert segment.row.startswith("valid_from=")
    assert (total.column, total.recomputed - total.stored) == (
        "principal_outstanding",
        principal - 5,
    )


def test_a_fold_edited_is_reported_key_by_key(app: LedgerApp) -> None:
    projections = open_book(app)
    sql = Sql(app)
    table = sql.table("ledger_balances_folds")
    key = str(loan_id_for("CAROL"))
    [(state,)] = sql.query(f"SELECT state FROM {table} WHERE loan_id = ?", [key])
    edited = state.replace('"status":"active"', '"status":"closed"')
    assert edited != state
    with sql.transaction() as c:
        c.execute(f"UPDATE {table} SET state = ? WHERE loan_id = ?", [edited, key])
    [difference] = verify_projections(projections).differences
    assert (difference.table, difference.row, difference.column) == (
        "ledger_balances_folds",
        "fold",
        "state.status",
    )
    assert (difference.stored, difference.recomputed) == ("closed", "active")


def test_rows_of_a_loan_without_events_are_reported_in_a_run_over_every_loan(
    app: LedgerApp,
) -> None:
    projections = open_book(app)
    sql = Sql(app)
    ghost = "00000000-0000-4000-8000-000000000001"
    with sql.transaction() as c:
        c.execute(
            f"INSERT INTO {sql.table('ledger_schedule')} (loan_id, k, due_date, penalty, "
            "paid_penalty, paid_interest, paid_principal, paid_total, waived, status) "
            "VALUES (?, 1, '2026-02-15', 0, 0, 0, 0, 0, 0, 'paid')",
            [ghost],
        )
    [planted] = verify_projections(projections).differences
    assert (planted.projection, planted.loan_id, planted.table) == (
        "schedule",
        ghost,
        "ledger_schedule",
    )
    assert planted.stored == "1 rows"
    assert verify_projections(projections, sample=3).clean  # a sample names its loans only


# --------------------------------------------------------------------------- not tampering


def test_a_projection_behind_the_log_is_not_reported_as_tampered(app: LedgerApp) -> None:
    projections = open_book(app, through=date(2026, 3, 1))
    app.close_days(date(2026, 3, 20))  # recorded after the catch-up
    app.repay("BOB", Decimal("500.00"), date(2026, 3, 21))
    halfway = Projections(app, page=5).select(["schedule"])[0]
    halfway.step()  # schedule moves a little further than the others, mid-day
    check = verify_projections(projections)
    assert check.differences == []
    behind = {(b.projection, b.loan) for b in check.behind}
    assert {(p, ref) for p in ("balances", "statements", "portfolio") for ref in LOANS} <= behind
    bob = next(b for b in check.behind if (b.projection, b.loan) == ("balances", "BOB"))
    assert bob.folded_version < bob.latest_version == app.get_loan("BOB").version
    projections.catch_up()
    caught_up = verify_projections(projections)
    assert caught_up.clean and caught_up.behind == []


def test_a_row_edited_on_a_loan_that_is_behind_is_still_reported(app: LedgerApp) -> None:
    projections = open_book(app, through=date(2026, 3, 1))
    app.close_days(date(2026, 3, 10))
    recomputed = edit(app, "ledger_balances", "interest_accrued", 99999, "ALICE")
    [difference] = verify_projections(projections).differences
    assert (difference.loan, difference.column) == ("ALICE", "interest_accrued")
    assert (difference.stored, difference.recomputed) == (99999, recomputed)


def test_a_quarantined_loan_is_listed_apart_and_not_as_a_difference(app: LedgerApp) -> None:
    open_book(app, through=date(2026, 2, 1))
    plant_far_future_loan(app)
    projections = Projections(app)
    projections.catch_up()
    check = verify_projections(projections)
    assert check.clean
    assert {q.projection for q in check.quarantined if q.loan == "BAD"} >= {"balances"}


# --------------------------------------------------------------------------- the CLI


def test_the_cli_reports_each_difference_and_exits_1_and_0_when_clean(
    app: LedgerApp, ledger: Ledger
) -> None:
    open_book(app)
    clean = ledger("audit", "verify", "--projections", "--json")
    assert clean.code == 0, clean.err
    assert clean.json["clean"] is True and clean.json["loans"] == 3
    human = ledger("audit", "verify", "--projections")
    assert human.code == 0 and human.out.strip().endswith("clean")
    expected = tamper(app)
    dirty = ledger("audit", "verify", "--projections", "--json")
    assert dirty.code == 1
    assert found(dirty.json["differences"]) == expected
    table = ledger("audit", "verify", "--projections")
    assert table.code == 1
    for needle in ("principal_outstanding", "k=1", "month=2026-02", "3 difference(s) in 3 loan"):
        assert needle in table.out, table.out
    one = ledger("audit", "verify", "BOB", "--projections", "--json")
    assert one.code == 1 and [d["loan_id"] for d in one.json["differences"]] == ["BOB"]
    drawn = ledger("audit", "verify", "--projections", "--sample", "2", "--seed", "3", "--json")
    assert drawn.json["sample"] == {"size": 2, "of": 3, "seed": 3}
    human_sample = ledger("audit", "verify", "--projections", "--sample", "2", "--seed", "3")
    assert "a sample of 2 of 3 (seed 3)" in human_sample.out


def test_repair_rewrites_the_rows_found_different_and_the_book_verifies_clean(
    app: LedgerApp, ledger: Ledger
) -> None:
    projections = open_book(app)
    before = [p.dump() for p in projections.select()]
    tamper(app)
    repaired = ledger("audit", "verify", "--projections", "--repair", "--json")
    assert repaired.code == 1  # differences were found (and repaired)
    assert {(r["projection"], r["loan_id"]) for r in repaired.json["repaired"]} == {
        ("balances", "BOB"),
        ("schedule", "ALICE"),
        ("statements", "CAROL"),
    }
    assert repaired.json["clean_after_repair"] is True
    assert [p.dump() for p in projections.select()] == before
    assert ledger("audit", "verify", "--projections").code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--projections", "--sample", "0"], "--sample: 0 is outside 1 to"),
        (["--projections", "--sample", "abc"], "--sample: 'abc' is not a whole number"),
        (["--projections", "--sample", "-3"], "--sample: -3 is outside 1 to"),
        (["--projections", "--sample", "1.5"], "is not a whole number"),
        (["--projections", "NOBODY"], "unknown loan NOBODY"),
        (["--projections", "BOB", "--sample", "2"], "at most one of LOAN_ID, --all and --sample"),
        (["--projections", "--seed", "4"], "--seed goes with --sample"),
        (["--sample", "2", "--all"], "go with --projections"),
        (["BOB", "--repair"], "go with --projections"),
    ],
)
def test_bad_input_to_verify_projections_is_one_line_and_writes_nothing(
    app: LedgerApp, ledger: Ledger, args: list[str], needle: str
) -> None:
    open_book(app, through=date(2026, 2, 1))
    tamper(app)  # --repair would have something to write
    before = stored_state(app)
    result = ledger("audit", "verify", *args, "--repair")
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert needle in lines[0], lines[0]
    assert result.out == ""
    assert stored_state(app) == before


# --------------------------------------------------------------------------- HTTP


def test_auditors_verify_the_projections_over_http(app: LedgerApp, auditor: TestClient) -> None:
    open_book(app)
    clean = auditor.get("/audit/projections")
    assert clean.status_code == 200, clean.text
    assert clean.json()["clean"] is True and clean.json()["loans"] == 3
    expected = tamper(app)
    dirty = auditor.get("/audit/projections").json()
    assert dirty["clean"] is False and found(dirty["differences"]) == expected
    bob = auditor.get("/audit/projections", params={"loan": "BOB"}).json()
    assert [(d["loan_id"], d["column"]) for d in bob["differences"]] == [
        ("BOB", "principal_outstanding")
    ]
    drawn = auditor.get("/audit/projections", params={"sample": "2", "seed": "8"}).json()
    assert drawn["loans"] == 2 and drawn["sample"] == {"size": 2, "of": 3, "seed": 8}
    assert auditor.get("/audit/projections", headers={"Authorization": ""}).status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("sample=0", 422, "sample: 0 is outside 1 to"),
        ("sample=abc", 422, "sample: 'abc' is not a whole number"),
        ("sample=1.5", 422, "sample"),
        ("sample=", 422, "sample"),
        ("seed=-1&sample=2", 422, "seed"),
        ("seed=5", 422, "a seed goes with a sample"),
        ("loan=NOBODY", 404, "unknown loan NOBODY"),
        ("loan=no%20such", 422, "loan"),
        ("loan=BOB&sample=2", 422, "a loan or a sample, not both"),
    ],
)
def test_bad_input_to_the_verify_endpoint_is_a_one_line_problem_and_writes_nothing(
    app: LedgerApp, auditor: TestClient, query: str, status: int, needle: str
) -> None:
    open_book(app, through=date(2026, 2, 1))
    before = stored_state(app)
    answer = auditor.get(f"/audit/projections?{query}")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert needle in detail and "\n" not in detail, detail
    assert stored_state(app) == before
