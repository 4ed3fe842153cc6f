"""``ledger loan restructure`` (loan-rules §16): a new term and/or a new rate for the principal
not yet due, re-planned from the next installment on, or a payment holiday (alone or with a
new rate). ``--preview`` shows the plan before and
after side by side and the cost of each (annual IRR), and writes nothing; without it, a
four-eyes request (:mod:`ledger.cli.approvals`) that a second person approves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click

from ledger.cli.approvals import print_gated, run_gated
from ledger.cli.common import (
    DATE,
    HOLIDAY,
    LOAN_REF,
    RATE,
    TERM,
    TEXT,
    CliError,
    actor_option,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.output import emit, kv_table, out, rows_table
from ledger.read import views
from ledger.read.restructuring import preview_view
from ledger.services import approvals

PLAN_COLUMNS = ["k", "due_date", "old_principal", "old_interest", "old_total", "new_principal",
                "new_interest", "new_total"]  # fmt: skip


@click.command("restructure", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--term",
    "term",
    type=TERM,
    help="The new term: the number of the last installment, counted from the first (more "
    "than the installments already fixed).",
)
@click.option(
    "--rate",
    "rate",
    type=RATE,
    help="The new rate, in the loan's own form (a daily rate, or an annual rate), from the "
    "restructuring day on.",
)
@click.option(
    "--holiday",
    "holiday",
    type=HOLIDAY,
    help="A payment holiday: the next INSTALLMENTS (1 to 12) not yet fixed are moved; nothing "
    "falls due on them, the interest accrued is charged with the first installment after them "
    "(not with --term).",
)
@click.option(
    "--reason", type=TEXT, metavar="REASON", help="Why (hardship); required unless --preview."
)
@click.option(
    "--on", "on", type=DATE, help="Business date (YYYY-MM-DD; default: the loan's next open day)."
)
@click.option("--preview", is_flag=True, help="Show the old and new plan and cost; write nothing.")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_restructure(
    ctx: click.Context,
    loan_id: str,
    term: int | None,
    rate: Decimal | None,
    holiday: int | None,
    reason: str | None,
    on: date | None,
    preview: bool,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Restructure loan LOAN_ID (loan-rules section 16): the principal not yet due is
    re-planned over a new term (--term) and/or at a new rate (--rate) from the next
    installment on, or after a payment holiday (--holiday K: the next K installments moved,
    the term K longer; alone or with --rate); installments already fixed stay as they are.
    A four-eyes command: a second person approves it. --preview shows the old and new plan
    side by side and the cost (annual IRR) of each, and writes nothing."""
    if term is None and rate is None and holiday is None:
        raise CliError("give --term, --rate or --holiday (--rate may go with either)")
    if preview:
        app = open_for(ctx, db)
        shown = preview_view(
            app.preview_restructure(loan_id, on=on, term=term, rate=rate, holiday=holiday)
        )
        if as_json:
            emit(shown)
            return
        plan = shown.pop("plan")
        kv_table(f"Restructuring preview of {shown['loan_id']} on {shown['on']}", shown)
        rows_table("Plan, old and new", plan, PLAN_COLUMNS)
        out.print("preview only: nothing was written", markup=False, highlight=False)
        return
    if reason is None:
        raise CliError("--reason is required (unless --preview)")
    payload = run_gated(
        ctx,
        db,
        actor,
        lambda app, who, _four_eyes: approvals.request_restructure(
            app, loan_id, on=on, term=term, rate=rate, holiday=holiday, reason=reason, by=who
        ),
        views.restructuring,
    )

    def done() -> None:
        kv_table(f"Restructuring of {payload['loan_id']} on {payload['on']}", payload)

    print_gated(payload, as_json, done)
