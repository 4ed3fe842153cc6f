"""Exports stream: rows are read from a cursor a page at a time and written as they come, all
from one snapshot of the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from ledger.domain.errors import CommandRefused, InvalidInput
from ledger.read.exports import (
    EXPORTS,
    FORMATS,
    Export,
    ExportRun,
    Format,
    Source,
    open_export,
    register,
    register_format,
)
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from projections import Projections


def open_loan(app: LedgerApp, reference: str) -> None:
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="12000.00",
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    app.open_loan(terms, reference)


@pytest.fixture
def book(app: LedgerApp) -> LedgerApp:
    open_loan(app, "ALICE")
    open_loan(app, "BOB")
    Projections(app).catch_up()
    return app


def test_an_export_reads_a_page_at_a_time_and_writes_rows_before_the_last_page(
    book: LedgerApp,
) -> None:
    run = open_export(book, "schedule", "csv", page=5, chunk_bytes=1)  # 24 rows: 5 pages
    pages_when_written: list[int] = []
    text = []
    for chunk in run.chunks():
        text.append(chunk)
        pages_when_written.append(run.pages)
    rows = list(csv.DictReader(io.StringIO("".join(text))))
    assert len(rows) == run.count == 24
    assert pages_when_written[0] == 1  # the header and the first row: one page read
    assert run.pages == 6  # five pages of rows (5, 5, 5, 5, 4), then the empty one that ends it
    assert pages_when_written.index(2) > 1  # rows were written before the second page was read


def test_on_postgres_the_rows_come_from_a_server_side_cursor(book: LedgerApp, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's fetchmany steps its statement only as far as asked")
    run = open_export(book, "balances", "json", page=1, chunk_bytes=1)
    chunks = run.chunks()
    next(chunks)
    next(chunks)  # the first row: its page has been fetched, the rest waits on the server
    cursors = run.source.snap.query("SELECT name AS name FROM pg_cursors")
    assert ("ledger_stream_1",) in cursors
    assert run.pages == 1
    rest = "".join(chunks)
    assert rest.endswith('"count": 2}\n') and run.pages == 3


def test_an_export_is_one_snapshot_a_loan_recorded_meanwhile_is_not_in_it(
    book: LedgerApp,
) -> None:
    run = open_export(book, "balances", "csv", page=1, chunk_bytes=1)
    chunks = run.chunks()
    header_and_alice = next(chunks)
    open_loan(book, "CAROL")
    assert Projections(book).catch_up(["balances"])["balances"] > 0
    text = header_and_alice + "".join(chunks)
    assert [r["loan_id"] for r in csv.DictReader(io.StringIO(text))] == ["ALICE", "BOB"]
    assert run.behind == 0
    again = open_export(book, "balances", "csv")
    assert "CAROL" in "".join(again.chunks()) and again.position > run.position


def test_one_more_export_is_one_registration_with_a_format_of_its_own(book: LedgerApp) -> None:
    def count(source: Source) -> Iterator[dict[str, Any]]:
        table = source.table("ledger_balances")
        for (loans,) in source.stream(f"SELECT COUNT(*) AS loans FROM {table}"):
            yield {"loans": loans}

    def text(run: ExportRun, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
        for row in rows:
            yield f"{run.export.name}: {row['loans']} loans\n"

    register_format(Format("txt", "text/plain", "txt", text))
    register(
        Export(
            "count",
            "the loans counted",
            ("loans",),
            count,
            projection="balances",
            needs=("balances",),
            as_of_means=None,
            no_as_of="a count of now",
            formats=("txt", "csv"),
        )
    )
    try:
        run = open_export(book, "count", "txt")
        assert "".join(run.chunks()) == "count: 2 loans\n"
        assert (run.filename, run.media_type) == ("count-current.txt", "text/plain")
        assert "".join(open_export(book, "count", "csv").chunks()) == "loans\r\n2\r\n"
        with pytest.raises(InvalidInput, match="written as txt or csv"):
            open_export(book, "count", "json")
        with pytest.raises(CommandRefused, match="a count of now"):
            open_export(book, "count", "txt", date(2026, 1, 20))
    finally:
        del EXPORTS["count"], FORMATS["txt"]
