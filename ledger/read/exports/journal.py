"""The journal as an export (docs/accounting.md): ``ledger export journal --format
beancount|csv|json`` and ``GET /exports/journal``. One row per posting, in (date, loan, event
version, line) order, with the account's name from the chart of accounts; the Beancount format
writes a valid ledger (``bean-check`` accepts it, and Beancount's balance of each account is the
trial balance's): the currency, every account opened on the journal's first day, then one
transaction per loan event. Streamed like every export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.adapters.config import chart_of_accounts
from ledger.domain.accounting import CURRENCY
from ledger.read.exports.core import Export, ExportRun, Format, Source, register, register_format
from projections.balances import from_fen

JOURNAL = "ledger_journal"
JOURNAL_COLUMNS = (
    "date",
    "loan_id",
    "uuid",
    "version",
    "event",
    "line",
    "account",
    "debit",
    "credit",
    "rule",
)


def journal_rows(source: Source) -> Iterator[dict[str, Any]]:
    """Every posting (dated up to ``as_of``), each with its account's name."""
    names = chart_of_accounts()
    where, params = "", []
    if source.as_of is not None:
        where, params = " WHERE x.on_date <= ?", [source.as_of.isoformat()]
    statement = (
        "SELECT b.reference AS reference, x.on_date AS on_date, x.loan_id AS loan_id, "
        "x.version AS version, x.event AS event, x.line AS line, x.account AS account, "
        f"x.amount AS amount, x.rule AS rule FROM {source.table(JOURNAL)} x "
        f"LEFT JOIN {source.table('ledger_balances')} b ON b.loan_id = x.loan_id{where} "
        "ORDER BY x.on_date, x.loan_id, x.version, x.line"
    )
    for reference, day, loan_id, version, event, line, account, amount, rule in source.stream(
        statement, params
    ):
        fen = int(amount)
        yield {
            "date": day,
            "loan_id": reference or loan_id,
            "uuid": loan_id,
            "version": int(version),
            "event": event,
            "line": int(line),
            "account": names[account],
            "debit": str(from_fen(fen)) if fen > 0 else None,
            "credit": str(from_fen(-fen)) if fen < 0 else None,
            "rule": rule,
        }


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_beancount(run: ExportRun, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A Beancount file: options, the accounts opened on the first posting's day, and one
    transaction per loan event (payee: the loan; narration: the event and its rule; metadata:
    loan, event, version), its postings in yuan."""
    as_of = f" as of {run.as_of}" if run.as_of else ""
    yield f'option "title" "Loan ledger journal{as_of}"\noption "operating_currency" "{CURRENCY}"\n'
    first = run.source.snap.query(
        f"SELECT MIN(on_date) AS first_day FROM {run.source.table(JOURNAL)}"
    )
    opened = first[0][0] or "1970-01-01"
    yield "".join(
        f"{opened} open {a} {CURRENCY}\n" for a in sorted(set(chart_of_accounts().values()))
    )
    current: tuple[Any, Any] | None = None
    for row in rows:
        if (row["uuid"], row["version"]) != current:
            current = (row["uuid"], row["version"])
            yield (
                f"\n{row['date']} * {_quoted(row['loan_id'])} "
                f"{_quoted(row['event'] + ': ' + row['rule'])}\n"
                f"  loan: {_quoted(row['loan_id'])}\n  event: {_quoted(row['event'])}\n"
                f"  version: {row['version']}\n"
            )
        amount = row["debit"] if row["debit"] is not None else f"-{row['credit']}"
        yield f"  {row['account']}  {amount} {CURRENCY}\n"


register_format(Format("beancount", "text/plain; charset=utf-8", "beancount", write_beancount))
register(
    Export(
        "journal",
        "the journal: every posting of every loan event on the chart of accounts, with its "
        "event and rule (docs/accounting.md)",
        JOURNAL_COLUMNS,
        journal_rows,
        projection="journal",
        needs=("journal", "balances"),
        as_of_means="postings dated on or before D",
        formats=("beancount", "csv", "json"),
    )
)
