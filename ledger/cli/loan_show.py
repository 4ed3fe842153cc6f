"""``ledger loan show``: a loan's balance. A module of its own, importing only what the read
needs (the store, the balances projection, the table): ``ledger loan show`` is the command
people run most, and it starts in a fraction of the time the whole command line takes to
import (issue 18, item 4; ``tests/interface/test_cli_start.py`` guards it)."""

from __future__ import annotations

from datetime import date

import click

from ledger.cli.common import DATE, LOAN_REF, db_option, json_option, open_for
from ledger.cli.output import emit, kv_table
from ledger.cli.reading import known_at_option, parse_moment, read_balance, stale_ok_option


@click.command("show")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="End of this business day, YYYY-MM-DD (default: the latest).",
)
@known_at_option
@stale_ok_option
@db_option
@json_option
@click.pass_context
def loan_show(
    ctx: click.Context,
    loan_id: str,
    as_of: date | None,
    known_at: str | None,
    stale_ok: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Loan LOAN_ID's balance at the end of a business day: the latest from the balances
    projection (caught up first), an earlier day from the loan's events up to that day."""
    day = as_of
    app = open_for(ctx, db)
    moment = parse_moment(known_at, app.business_date.zone)
    if moment is not None:
        from ledger.read import views
        from ledger.services import audit

        state = views.loan_state(audit.loan_at(app, loan_id, as_of=day, known_at=moment), day)
    elif day is None:
        state = read_balance(app, loan_id, stale_ok=stale_ok)
    else:
        from ledger.read import views

        state = views.loan_state(app.loan_as_of(loan_id, day), day)
    if as_json:
        emit(state)
    else:
        kv_table(f"Loan {state['loan_id']} as of {state['as_of']}", state)
