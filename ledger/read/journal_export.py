"""The journal as a file (docs/accounting.md): Beancount (a valid ledger: ``bean-check``
accepts it, and its balances are the trial balance's) or CSV, one posting a row. Both stream:
the journal's rows are read a page at a time in (date, loan, version, line) order and written
as they come, so memory does not grow with the book."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from ledger.domain.accounting import CURRENCY
from projections import Projections
from projections.balances import from_fen
from projections.journal import Journal

PAGE = 5000
CSV_COLUMNS = ("date", "loan_id", "version", "event", "line", "account", "debit", "credit", "rule")


def journal_rows(journal: Journal, as_of: date | None, page: int = PAGE) -> Iterator[Any]:
    """Every posting dated up to ``as_of``, in (date, loan, version, line) order, read a page
    at a time (keyset pagination: no offset, no cursor held between pages)."""
    last: tuple[Any, ...] | None = None
    columns = "on_date, loan_id, version, line, event, account, amount, rule"
    while True:
        where, args = [], []
        if as_of is not None:
            where.append("on_date <= ?")
            args.append(as_of.isoformat())
        if last is not None:
            where.append(
                "(on_date > ? OR (on_date = ? AND (loan_id > ? OR (loan_id = ? AND "
                "(version > ? OR (version = ? AND line > ?))))))"
            )
            day, loan, version, line = last
            args += [day, day, loan, loan, version, version, line]
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = journal.sql.query(
            f"SELECT {columns} FROM {journal.t} {clause}"
            f"ORDER BY on_date, loan_id, version, line LIMIT {int(page)}",
            args,
        )
        yield from rows
        if len(rows) < page:
            return
        last = tuple(rows[-1][:4])


def references(projections: Projections) -> dict[str, str]:
    """Loan id -> reference (one entry a loan, not a posting)."""
    return {
        str(r["loan_id"]): str(r["reference"] or r["loan_id"]) for r in projections.balances.all()
    }


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def beancount_lines(
    projections: Projections, names: dict[str, str], as_of: date | None = None
) -> Iterator[str]:
    """The journal as a Beancount file: the currency, every account opened on the journal's
    first day, then one transaction per loan event (its postings, in yuan), with the loan, the
    event and its version as metadata and the rule as the narration."""
    journal = projections.journal
    refs = references(projections)
    yield f'option "title" "Loan ledger journal{f" as of {as_of}" if as_of else ""}"\n'
    yield f'option "operating_currency" "{CURRENCY}"\n\n'
    first = journal.sql.query(f"SELECT MIN(on_date) AS first_day FROM {journal.t}")[0][0]
    for account in sorted(set(names.values())):
        yield f"{first or '1970-01-01'} open {account} {CURRENCY}\n"
    current: tuple[Any, Any] | None = None
    for day, loan_id, version, _line, event, account, amount, rule in journal_rows(journal, as_of):
        if (loan_id, version) != current:
            current = (loan_id, version)
            ref = refs.get(str(loan_id), str(loan_id))
            yield (
                f"\n{day} * {_quoted(ref)} {_quoted(f'{event}: {rule}')}\n"
                f"  loan: {_quoted(ref)}\n  event: {_quoted(event)}\n  version: {version}\n"
            )
        yield f"  {names[account]}  {from_fen(int(amount))} {CURRENCY}\n"


def csv_chunks(
    projections: Projections, names: dict[str, str], as_of: date | None = None
) -> Iterator[str]:
    """The journal as CSV, one posting a row: date, loan, event version, event, line,
    account, debit or credit (yuan), rule."""
    refs = references(projections)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day, loan_id, version, line, event, account, amount, rule in journal_rows(
        projections.journal, as_of
    ):
        value = from_fen(int(amount))
        debit, credit = (value, "") if int(amount) > 0 else ("", from_fen(-int(amount)))
        writer.writerow(
            [day, refs.get(str(loan_id), loan_id), version, event, line, names[account],
             debit, credit, rule]
        )  # fmt: skip
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
