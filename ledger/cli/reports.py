"""``ledger loan statement``, ``ledger loan list`` and ``ledger portfolio``: reports read from
the statements, balances and portfolio projections (caught up first unless ``--stale-ok``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from rich.table import Table

from ledger.cli.common import DATE, LOAN_REF, MONTH, db_option, json_option, open_for
from ledger.cli.output import add_columns, emit, out, rows_table
from ledger.cli.reading import fresh, stale_ok_option
from ledger.domain.errors import LedgerError, NotFound
from ledger.domain.terms import PRESETS
from ledger.services.application import loan_id_for
from projections import balances as balances_view
from projections import statements as statements_view
from projections.loan_list import DEFAULT_PAGE, MAX_PAGE, STATUSES, LoanFilter, list_loans


@click.command("statement")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--month",
    type=MONTH,
    help="The statement of this month, YYYY-MM (the month of its due date; default: all).",
)
@stale_ok_option
@db_option
@json_option
@click.pass_context
def statement(
    ctx: click.Context,
    loan_id: str,
    month: str | None,
    stale_ok: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Loan LOAN_ID's monthly statements (a cycle ends on a due date and is named by the
    month of that date)."""
    app = open_for(ctx, db)
    statements = fresh(app, "statements", stale_ok=stale_ok).statements
    rows = statements.read(loan_id_for(loan_id))
    if not rows:
        raise NotFound(f"unknown loan {loan_id}")
    reference = loan_id
    if month is not None:
        chosen = [r for r in rows if r["month"] == month]
        if not chosen:
            raise LedgerError(
                f"loan {loan_id} has no statement for {month}: its statements run from "
                f"{rows[0]['month']} to {rows[-1]['month']}"
            )
        rows = chosen
    shown = [{"loan_id": reference, **statements_view.shown(r)} for r in rows]
    if as_json:
        emit(shown[0] if month is not None else shown)
        return
    for s in shown:
        _print_statement(s)


def _print_statement(s: dict[str, Any]) -> None:
    table = Table(
        title=f"Statement {s['month']} of {s['loan_id']} "
        f"({s['period_start']} to {s['period_end']})",
        show_header=False,
    )
    table.add_column("line")
    table.add_column("amount", justify="right")
    lines = [
        ("opening balance", s["opening_balance"]),
        ("+ disbursed", s["disbursed"]),
        (f"+ interest (accrued exactly {s['normal_accrued']})", s["interest"]),
        (f"+ penalty (accrued exactly {s['penalty_accrued']})", s["penalty"]),
        ("+ fees", s["fees"]),
    ]
    for source in ("deducted", "repaid", "prepaid"):
        for part in ("penalty", "interest", "principal", "fee"):
            value = s[f"{source}_{part}"]
            if value != "0.00":
                lines.append((f"- {source}: {part}", value))
    lines.append(("- paid in total", s["paid_total"]))
    if s["waived"] != "0.00":
        lines.append(("- waived", s["waived"]))
    if s["adjustments"] != "0.00":
        lines.append(("+ adjustments (corrections of the past)", s["adjustments"]))
    lines.append(("closing balance", s["closing_balance"]))
    for label, value in lines:
        table.add_row(label, value)
    out.print(table)


@click.command("portfolio")
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="End of this business day, YYYY-MM-DD (default: the last one run).",
)
@stale_ok_option
@db_option
@json_option
@click.pass_context
def portfolio(
    ctx: click.Context, as_of: date | None, stale_ok: bool, db: str | None, as_json: bool
) -> None:
    """Totals by product and status, and delinquency buckets by days past due."""
    day = as_of
    app = open_for(ctx, db)
    projection = fresh(app, "portfolio", stale_ok=stale_ok).portfolio
    last = projection.last_business_day()
    if day is not None and (last is None or day > last):
        raise LedgerError(
            f"--as-of {day}: the book has run only through {last or 'no business day yet'}"
        )
    report = projection.report(day)
    if as_json:
        emit(report)
        return
    out.print(
        f"Portfolio as of {report['as_of']}: {report['open_loans']} open loans, principal "
        f"{report['principal_outstanding']}, overdue {report['overdue_amount']}"
    )
    _rows_table(
        "By product and status",
        report["by_product"],
        ["product", "status", "loans", "principal_outstanding", "overdue_amount"],
    )
    _rows_table(
        "Delinquency buckets (days past due)",
        report["buckets"],
        ["bucket", "loans", "principal_outstanding", "overdue_amount", "share_of_principal"],
    )


def _rows_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    add_columns(table, columns)
    for r in rows:
        table.add_row(*(str(r[c]) for c in columns))
    out.print(table)


@click.command("list")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="Only loans in this status.",
)
@click.option(
    "--product",
    type=click.Choice(sorted(PRESETS)),
    help="Only loans of this product (see `ledger loan open -h`).",
)
@click.option(
    "--min-days-past-due",
    "min_days_past_due",
    type=click.IntRange(0),
    metavar="N",
    help="Only loans at least N days past due.",
)
@click.option(
    "--after",
    metavar="KEY",
    help="Start after this key: the `next_after` a previous page printed.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_PAGE),
    default=DEFAULT_PAGE,
    show_default=True,
    metavar="N",
    help=f"At most N loans (1 to {MAX_PAGE}).",
)
@stale_ok_option
@db_option
@json_option
@click.pass_context
def loan_list(
    ctx: click.Context,
    status: str | None,
    product: str | None,
    min_days_past_due: int | None,
    after: str | None,
    limit: int,
    stale_ok: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """The book's loans by reference, a page at a time, from the balances projection
    (current figures); the same list as `GET /loans`."""
    app = open_for(ctx, db)
    balances = fresh(app, "balances", stale_ok=stale_ok).balances
    try:
        page = list_loans(
            balances,
            LoanFilter(status, product, min_days_past_due),
            after=after,
            limit=limit,
        )
    except ValueError as error:
        raise LedgerError(f"--after: {error}") from None
    rows = [balances_view.shown(r) for r in page.rows]
    if as_json:
        emit({"loans": rows, "total": page.total, "next_after": page.next_after})
        return
    rows_table(f"Loans ({len(rows)} of {page.total})", rows, LIST_COLUMNS)
    if page.next_after:
        out.print(f"more: --after '{page.next_after}'", markup=False)


LIST_COLUMNS = [
    "loan_id",
    "product",
    "status",
    "as_of",
    "principal_outstanding",
    "overdue_amount",
    "days_past_due",
    "next_due_date",
]
