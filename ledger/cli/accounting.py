"""``ledger accounting ...``: the journal's postings, the trial balance and the tie-out of the
control accounts to the loans' balances (docs/accounting.md). Each catches the journal and the
balances projections up first."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click
from rich.table import Table

from ledger.adapters.config import chart_of_accounts
from ledger.cli.common import DATE, LOAN_REF, db_option, json_option, open_for
from ledger.cli.output import emit, out
from ledger.read import accounting
from ledger.services.application import LedgerApp
from projections import Projections

EXIT_DIFFERENCE = 1  # the tie-out found a difference


def _caught_up(app: LedgerApp) -> Projections:
    projections = Projections(app)
    projections.catch_up(["journal", "balances"])
    return projections


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in AMOUNTS else "left")
    for row in rows:
        table.add_row(*[str(row.get(c) if row.get(c) is not None else "") for c in columns])
    out.print(table)


AMOUNTS = {"debit", "credit", "balance", "journal", "balances", "difference"}
as_of_option = click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="Postings dated up to the end of this business day (default: all).",
)


@click.group("accounting")
def accounting_group() -> None:
    """The double-entry journal derived from the events: postings, trial balance, tie-out."""


@accounting_group.command("postings")
@click.argument("loan_id", metavar="LOAN_ID", type=LOAN_REF)
@db_option
@json_option
@click.pass_context
def postings(ctx: click.Context, loan_id: str, db: str | None, as_json: bool) -> None:
    """The postings of loan LOAN_ID, each with the event (version) and the rule behind it."""
    names = chart_of_accounts()
    app = open_for(ctx, db)
    loan = app.get_loan(loan_id)  # an unknown loan is refused on one line
    rows = accounting.postings_of(_caught_up(app), loan.id, names)
    if as_json:
        emit({"loan_id": loan.label, "postings": rows})
        return
    columns = ["version", "date", "event", "account", "debit", "credit", "rule"]
    _table(f"Postings of loan {loan.label}", rows, columns)


@accounting_group.command("trial-balance")
@as_of_option
@click.option("--by", "by", type=click.Choice(["product"]), help="One block per product.")
@db_option
@json_option
@click.pass_context
def trial_balance(
    ctx: click.Context, as_of: date | None, by: str | None, db: str | None, as_json: bool
) -> None:
    """Every account's debits, credits and balance; debits equal credits."""
    names = chart_of_accounts()
    app = open_for(ctx, db)
    result = accounting.trial_balance(
        _caught_up(app), names, as_of=as_of, by_product=by == "product"
    )
    if as_json:
        emit(result)
        return
    columns = (["product"] if by else []) + ["account", "debit", "credit", "balance"]
    _table(f"Trial balance as of {as_of or 'now'}", result["accounts"], columns)
    state = "balanced" if result["balanced"] else "NOT balanced"
    out.print(f"debits {result['debits']}, credits {result['credits']}: {state}")


@accounting_group.command("tie-out")
@as_of_option
@db_option
@json_option
@click.pass_context
def tie_out(ctx: click.Context, as_of: date | None, db: str | None, as_json: bool) -> None:
    """The control accounts against the sums of the loans' balances, to the fen; exits 1 and
    names the loans and events when they differ."""
    app = open_for(ctx, db)
    result = accounting.tie_out(app, _caught_up(app), as_of=as_of)
    if as_json:
        emit(result)
    else:
        _table(
            f"Tie-out as of {as_of or 'now'} ({result['loans']} loans)",
            result["controls"],
            ["control", "journal", "balances", "difference"],
        )
        if result["differences"]:
            _table(
                "Differences",
                result["differences"],
                ["loan_id", "control", "journal", "balances", "difference", "events"],
            )
        out.print("the control accounts tie out" if result["holds"] else "they do NOT tie out")
    if not result["holds"]:
        sys.exit(EXIT_DIFFERENCE)
