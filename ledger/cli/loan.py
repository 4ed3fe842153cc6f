"""``ledger loan ...``: repay, prepay, reverse and inspect loans (``open`` is in
:mod:`ledger.cli.loan_open`, ``waive`` and ``refund`` in :mod:`ledger.cli.remedies`).

Every command runs through ``LedgerApp.execute``: its events are saved only once the command
and the presenting of its answer have succeeded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from ledger.cli.approvals import print_gated, run_gated
from ledger.cli.common import (
    DATE,
    LOAN_REF,
    MONEY,
    TEXT,
    VERSION,
    CliError,
    actor_option,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.help_text import replan_help
from ledger.cli.output import emit, kv_table, out, rows_table
from ledger.cli.reading import read_schedule, stale_ok_option
from ledger.domain.loan import Loan
from ledger.domain.terms import (
    Replan,
)
from ledger.read import views
from ledger.read.event_summary import EventSummary, summaries
from ledger.services import approvals


@click.command("repay", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.argument("amount", type=MONEY)
@click.option(
    "--on", "on", required=True, type=DATE, help="Business date of the repayment (YYYY-MM-DD)."
)
@click.option(
    "--backdated",
    is_flag=True,
    help="It really happened on --on, a day already closed: recompute the loan from then on.",
)
@click.option("--reason", type=TEXT, metavar="REASON", help="Why (required with --backdated).")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_repay(
    ctx: click.Context,
    loan_id: str,
    amount: Decimal,
    on: date,
    backdated: bool,
    reason: str | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """A repayment of AMOUNT (e.g. 300.00) on loan LOAN_ID on business date --on, allocated
    oldest installment first: penalty, interest, then principal."""
    if backdated:
        if not reason:
            raise CliError("--backdated needs --reason (a correction records why)")
        text = reason
        payload = run_gated(
            ctx,
            db,
            actor,
            lambda app, who, four_eyes: approvals.request_backdated_repayment(
                app, loan_id, amount=amount, on=on, reason=text, by=who, four_eyes=four_eyes
            ),
            _correction,
        )
        print_gated(payload, as_json, lambda: _emit_correction(payload, False))
        return
    if reason is not None:
        raise CliError("--reason goes with --backdated")
    app = open_for(ctx, db)

    def command() -> dict[str, Any]:
        repaid, items = app.repay(loan_id, amount, on)
        return views.repayment(repaid, on, amount, items)

    result = app.execute(command)
    if as_json:
        emit(result)
    else:
        rows_table(
            f"Repayment of {result['amount']} on {on}",
            result["allocations"],
            ["k", "penalty", "interest", "principal", "total"],
        )
        out.print(f"status: {result['status']}, still due: {result['amount_due']}")


@click.command("reverse")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--event",
    "version",
    required=True,
    type=VERSION,
    help="Version of the payment event (see ledger loan events LOAN_ID).",
)
@click.option("--reason", required=True, type=TEXT, metavar="REASON", help="Why (e.g. it bounced).")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_reverse(
    ctx: click.Context,
    loan_id: str,
    version: int,
    reason: str,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Reverse a deduction or repayment of loan LOAN_ID that bounced; the loan is recomputed
    without it."""
    payload = run_gated(
        ctx,
        db,
        actor,
        lambda app, who, four_eyes: approvals.request_reversal(
            app, loan_id, event=version, reason=reason, by=who, four_eyes=four_eyes
        ),
        _correction,
    )
    print_gated(payload, as_json, lambda: _emit_correction(payload, False))


def _correction(loan: Loan) -> dict[str, Any]:
    """The correction a command just made, as printed (from the loan's unsaved events)."""
    return views.correction(loan, views.newest_pending(loan, Loan.Corrected))


def _emit_correction(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(payload)
    else:
        kv_table(f"Correction recorded on loan {payload['loan_id']}", payload)
        for name, change in payload["differences"].items():
            out.print(f"  {name}: {change}", markup=False, highlight=False)


@click.command("prepay")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--on", "on", required=True, type=DATE, help="Business date of the prepayment (YYYY-MM-DD)."
)
@click.option("--full", is_flag=True, help="Pay the loan off.")
@click.option("--amount", type=MONEY, help="A partial prepayment of this amount.")
@click.option("--quote", is_flag=True, help="Only show what it would pay; write nothing.")
@click.option(
    "--replan",
    type=click.Choice([r.value for r in Replan]),
    default=Replan.REDUCE_INSTALLMENT.value,
    show_default=True,
    help=f"With --amount: {replan_help()}.",
)
@db_option
@json_option
@click.pass_context
def loan_prepay(
    ctx: click.Context,
    loan_id: str,
    on: date,
    full: bool,
    amount: Decimal | None,
    quote: bool,
    replan: str,
    db: str | None,
    as_json: bool,
) -> None:
    """A prepayment of loan LOAN_ID, full or partial; --quote only shows it."""
    if full == (amount is not None):
        raise CliError("give exactly one of --full and --amount")
    app = open_for(ctx, db)

    def command() -> dict[str, Any]:
        prepaid, result = app.prepay(
            loan_id, on, amount=amount, replan=Replan(replan), quote_only=quote
        )
        return views.prepayment(prepaid, result, executed=not quote)

    payload = app.execute(command)
    if as_json:
        emit(payload)
    else:
        kind = "full" if full else "partial"
        kv_table(f"{'Quote for' if quote else ''} {kind} prepayment on {on}".strip(), payload)


@click.command("schedule")
@click.argument("loan_id", type=LOAN_REF)
@stale_ok_option
@db_option
@json_option
@click.pass_context
def loan_schedule(
    ctx: click.Context, loan_id: str, stale_ok: bool, db: str | None, as_json: bool
) -> None:
    """Loan LOAN_ID's installments: planned and actual, collected and when (the schedule
    projection)."""
    app = open_for(ctx, db)
    rows = read_schedule(app, loan_id, stale_ok=stale_ok)
    if as_json:
        emit(rows)
    else:
        rows_table(
            f"Schedule of {loan_id}",
            rows,
            ["k", "due_date", "principal", "interest", "penalty", "paid", "status"],
        )


@click.command("events")
@click.argument("loan_id", type=LOAN_REF)
@db_option
@json_option
@click.pass_context
def loan_events(ctx: click.Context, loan_id: str, db: str | None, as_json: bool) -> None:
    """Loan LOAN_ID's events in order: a table of what each did and the money it moved
    (effective date, amount and its split); --json gives each event's data as recorded."""
    app = open_for(ctx, db)
    recorded = app.loan_events(loan_id)
    if as_json:
        emit(views.events(recorded))
    else:
        _print_events(summaries(recorded))


def _print_events(rows: list[EventSummary]) -> None:
    table = Table(title="Events")
    for c in ("version", "on", "effective", "event", "what", "amounts", "note"):
        table.add_column(c, no_wrap=c in ("on", "effective"))
    for r in rows:
        note = r.note + (f" (superseded by event {r.superseded_by})" if r.superseded_by else "")
        effective = r.effective_on.isoformat() if r.effective_on != r.on else ""
        table.add_row(
            str(r.version), r.on.isoformat(), effective, r.event, r.what, r.amounts(), note
        )
    out.print(table)
