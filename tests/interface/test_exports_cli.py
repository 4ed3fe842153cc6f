"""``ledger export ...`` on SQLite and PostgreSQL: the rows are the CLI's own reads of the same
figures, --as-of, --out, and refusals that write nothing."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.read.exports.core import cell
from tests.conftest import Ledger
from tests.interface.test_projections_cli import ALICE
from tests.interface.test_refused_commands_cli import assert_refused


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    """ALICE pays on time; BOB's account is empty, so he is overdue from 2026-02-16."""
    ledger.ok(*ALICE, "--loan-id", "ALICE")
    ledger.ok(*ALICE, "--loan-id", "BOB")
    ledger.ok("bank", "set-balance", "BOB", "0")
    ledger.ok("close-day", "--through", "2026-03-01")
    return ledger


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def exported(ledger: Ledger, *args: str) -> str:
    result = ledger("export", *args)
    assert result.code == 0, result.err
    assert result.err.startswith("exported ") and len(result.err.splitlines()) == 1
    return result.out


def as_cells(row: dict[str, Any]) -> dict[str, str]:
    return {k: cell(v) for k, v in row.items()}


def test_the_balances_csv_holds_every_loan_as_loan_list_prints_it(book: Ledger) -> None:
    later = ["2026-03-02" if a == "2026-01-15" else a for a in ALICE]
    unnamed = book.ok(*later)["uuid"]  # a loan opened without a reference: named by its UUID
    rows = csv_rows(exported(book, "balances", "--format", "csv"))
    listed = book.ok("loan", "list")["loans"]
    assert [r["loan_id"] for r in rows] == [unnamed, "ALICE", "BOB"]  # `loan list`'s order
    for row, loan in zip(rows, listed, strict=True):
        assert {k: row[k] for k in loan} == as_cells(loan)
    assert Decimal(rows[-1]["overdue_amount"]) > 0 and rows[-1]["status"] == "overdue"


def test_the_json_statements_and_schedule_are_each_loans_own_reads(book: Ledger) -> None:
    statements = json.loads(exported(book, "statements", "--format", "json"))
    assert statements["export"] == "statements" and statements["behind"] == 0
    assert statements["count"] == len(statements["rows"]) == 4
    schedule = json.loads(exported(book, "schedule", "--format", "json"))
    assert schedule["count"] == 24
    for loan in ("ALICE", "BOB"):
        own = book.ok("loan", "statement", loan)
        mine = [r for r in statements["rows"] if r["loan_id"] == loan]
        assert [{k: r[k] for k in s} for r, s in zip(mine, own, strict=True)] == own
        installments = book.ok("loan", "schedule", loan)
        rows = [r for r in schedule["rows"] if r["loan_id"] == loan]
        assert [{k: r[k] for k in i} for r, i in zip(rows, installments, strict=True)] == (
            installments
        )


def test_the_schedule_csv_parses_to_the_same_rows_as_its_json(book: Ledger) -> None:
    as_json = json.loads(exported(book, "schedule", "--format", "json"))
    rows = csv_rows(exported(book, "schedule"))  # csv is the default
    assert list(rows[0]) == as_json["columns"]
    assert rows == [as_cells(r) for r in as_json["rows"]]


def test_the_portfolio_export_adds_up_to_the_portfolio_as_of_a_past_day(book: Ledger) -> None:
    rows = csv_rows(exported(book, "portfolio", "--as-of", "2026-02-20"))
    report = book.ok("portfolio", "--as-of", "2026-02-20")
    assert {r["as_of"] for r in rows} == {"2026-02-20"}
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for r in rows:
        t = totals[(r["product"], r["status"])]
        t[0] += 1
        t[1] += Decimal(r["principal_outstanding"])
        t[2] += Decimal(r["overdue_amount"])
    assert {
        (p["product"], p["status"]): [p["loans"], p["principal_outstanding"], p["overdue_amount"]]
        for p in report["by_product"]
    } == {k: [int(v[0]), f"{v[1]:.2f}", f"{v[2]:.2f}"] for k, v in totals.items()}
    bob = next(r for r in rows if r["loan_id"] == "BOB")
    assert (bob["days_past_due"], bob["bucket"]) == ("5", "1-30")  # overdue since 02-16
    latest = csv_rows(exported(book, "portfolio"))  # default: the last business day run
    assert {r["as_of"] for r in latest} == {"2026-03-01"}


def test_statements_as_of_a_day_are_the_cycles_ended_by_then(book: Ledger) -> None:
    rows = csv_rows(exported(book, "statements", "--as-of", "2026-02-28"))
    assert [(r["loan_id"], r["month"]) for r in rows] == [("ALICE", "2026-02"), ("BOB", "2026-02")]
    assert all(r["period_end"] <= "2026-02-28" for r in rows)


def test_the_events_export_is_every_loan_event_and_as_of_keeps_those_effective_by_then(
    book: Ledger,
) -> None:
    document = json.loads(exported(book, "events", "--format", "json"))
    alice = [r for r in document["rows"] if r["loan_id"] == "ALICE"]
    own = book.ok("loan", "events", "ALICE")
    assert [{k: r[k] for k in e} for r, e in zip(alice, own, strict=True)] == own
    positions = [r["position"] for r in document["rows"]]
    assert positions == sorted(positions) and document["position"] == positions[-1]
    early = csv_rows(exported(book, "events", "--as-of", "2026-01-16"))
    assert early and all(r["effective_date"] <= "2026-01-16" for r in early)
    assert json.loads(early[0]["data"])["reference"] == "ALICE"  # the data, one JSON cell
    assert sorted(r["type"] for r in early if r["loan_id"] == "BOB") == [
        "Disbursed",
        "InterestAccrued",
        "InterestAccrued",
    ]  # disbursed on 2026-01-15; the accruals of the 15th and the 16th


def test_out_writes_a_new_file_and_replaces_one_only_with_force(
    book: Ledger, tmp_path: Path
) -> None:
    target = tmp_path / "balances.csv"
    result = book("export", "balances", "--out", str(target))
    assert result.code == 0 and result.out == ""
    assert f"to {target}" in result.err and "position" in result.err
    first = target.read_bytes()
    assert [r["loan_id"] for r in csv_rows(first.decode())] == ["ALICE", "BOB"]
    assert first.count(b"\r\n") == 3  # RFC 4180 line ends, kept as written
    assert_refused(book, ["export", "balances", "--out", str(target)], "exists", "--force")
    assert target.read_bytes() == first
    replaced = book("export", "balances", "--format", "json", "--out", str(target), "--force")
    assert replaced.code == 0
    assert json.loads(target.read_text())["count"] == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["balances", "--as-of", "2026-02-20"], "balances projection keeps each loan's current"),
        (["schedule", "--as-of", "2026-02-20"], "--as-of is not supported"),
        (["statements", "--format", "xml"], "'xml' is not one of 'csv', 'json'"),
        (["events", "--as-of", "2026-02-30"], "not a date"),
        (["events", "--as-of", "2031-01-01"], "after the business date 2030-12-31"),
        (["statements", "--as-of", "2026-03-02"], "run only through 2026-03-01"),
        (["portfolio", "--as-of", "2027-01-01"], "run only through 2026-03-01"),
        (["ledgers"], "No such command"),
    ],
)
def test_a_refused_export_is_one_line_exit_2_and_writes_no_file_and_no_event(
    book: Ledger, tmp_path: Path, args: list[str], needle: str
) -> None:
    target = tmp_path / "refused.csv"
    assert_refused(book, ["export", *args, "--out", str(target)], needle)
    assert book("export", *args).code == 2
    assert not target.exists()


def test_stale_ok_exports_the_read_model_as_it_is_and_says_how_far_behind(book: Ledger) -> None:
    exported(book, "balances")  # caught up
    book.ok("loan", "repay", "BOB", "10.00", "--on", "2026-03-02")  # BOB is overdue
    stale = book("export", "balances", "--format", "json", "--stale-ok")
    assert stale.code == 0, stale.err
    behind = json.loads(stale.out)["behind"]
    assert behind > 0
    assert f"note: projection balances is {behind} events behind the log" in stale.err
    assert f"{behind} events behind the log)" in stale.err.splitlines()[-1]
    fresh = json.loads(exported(book, "balances", "--format", "json"))
    assert fresh["behind"] == 0 and fresh["position"] > json.loads(stale.out)["position"]
