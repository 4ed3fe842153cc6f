"""``ledger loan waive`` and ``ledger loan refund``: the remedies of a dispute (loan-rules
sections 6 and 12), through the services' waive and refund (:mod:`ledger.services.remedies`);
``ledger loan write-off`` (four eyes) and ``ledger loan recover`` (section 14).

A waiver forgives what is still owed of a charge first, then gives back what was already paid
of it, as credit owed to the borrower (a closed loan too); a refund pays credit back to the
borrower's linked account through the payment gateway, never more than the credit. Each runs
through ``LedgerApp.execute``: a refused one writes no event. Both are four-eyes commands
(:mod:`ledger.cli.approvals`): a request a second person approves, unless under the threshold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import click

from ledger.cli.approvals import person, print_gated, run_gated
from ledger.cli.common import (
    DATE,
    LOAN_REF,
    MONEY,
    TEXT,
    CliError,
    actor_option,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.output import emit, kv_table, out
from ledger.domain.actor import acting_as
from ledger.read import views
from ledger.services import approvals

ON_HELP = "Business date (YYYY-MM-DD; default: the loan's next open day, a closed loan's last)."


@click.command("waive", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.option("--fee", "fee", type=MONEY, help="Waive this much of the prepayment fee paid.")
@click.option("--penalty", "penalty", type=MONEY, help="Waive this much penalty.")
@click.option("--interest", "interest", type=MONEY, help="Waive this much interest.")
@click.option(
    "--compound",
    "compound",
    type=MONEY,
    help="Waive this much compound interest still owed (a loan opened with "
    "--compound-multiplier, loan-rules section 11).",
)
@click.option(
    "--reason",
    required=True,
    type=TEXT,
    metavar="REASON",
    help="Why (goodwill, the outcome of a dispute).",
)
@click.option("--on", "on", type=DATE, help=ON_HELP)
@actor_option
@db_option
@json_option
@click.pass_context
def loan_waive(
    ctx: click.Context,
    loan_id: str,
    fee: Decimal | None,
    penalty: Decimal | None,
    interest: Decimal | None,
    compound: Decimal | None,
    reason: str,
    on: date | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Waive a charge of loan LOAN_ID: what is still owed of it first (oldest installment
    first; no money moves), then what was already paid of it, which becomes credit owed to
    the borrower (a closed loan too; `ledger loan refund` pays it out)."""
    parts = (("fee", fee), ("penalty", penalty), ("interest", interest), ("compound", compound))
    given = [(part, value) for part, value in parts if value is not None]
    if len(given) != 1:
        raise CliError("give exactly one of --fee, --penalty and --interest (or --compound)")
    part, value = given[0]
    payload = run_gated(
        ctx,
        db,
        actor,
        lambda app, who, four_eyes: approvals.request_waiver(
            app,
            loan_id,
            part=part,
            amount=value,
            on=on,
            reason=reason,
            by=who,
            four_eyes=four_eyes,
        ),
        lambda loan: views.waiver(loan, part, value),
    )

    def done() -> None:
        kv_table(f"Waiver of {payload['amount']} {part} on {payload['on']}", payload)
        out.print(
            f"forgave {payload['forgiven']} still owed; {payload['credited']} already paid "
            f"became credit (credit now {payload['credit']})",
            markup=False,
            highlight=False,
        )

    print_gated(payload, as_json, done)


@click.command("refund", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.argument("amount", type=MONEY)
@click.option(
    "--reason",
    required=True,
    type=TEXT,
    metavar="REASON",
    help="Why (the credit of a waived fee, the outcome of a dispute).",
)
@click.option("--on", "on", type=DATE, help=ON_HELP)
@actor_option
@db_option
@json_option
@click.pass_context
def loan_refund(
    ctx: click.Context,
    loan_id: str,
    amount: Decimal,
    reason: str,
    on: date | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Pay AMOUNT (e.g. 300.00) of the credit loan LOAN_ID holds back to the borrower's
    linked account, through the payment gateway; refused above the credit."""
    payload = run_gated(
        ctx,
        db,
        actor,
        lambda app, who, four_eyes: approvals.request_refund(
            app, loan_id, amount=amount, on=on, reason=reason, by=who, four_eyes=four_eyes
        ),
        views.refund,
    )

    def done() -> None:
        kv_table(f"Refund of {payload['amount']} on {payload['on']}", payload)
        out.print(
            f"paid to the linked account; credit {payload['credit_before']} -> "
            f"{payload['credit_after']}",
            markup=False,
            highlight=False,
        )

    print_gated(payload, as_json, done)


@click.command("write-off", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--reason",
    required=True,
    type=TEXT,
    metavar="REASON",
    help="Why (uncollectable, the borrower's insolvency).",
)
@click.option(
    "--on", "on", type=DATE, help="Business date (YYYY-MM-DD; default: the loan's next open day)."
)
@actor_option
@db_option
@json_option
@click.pass_context
def loan_write_off(
    ctx: click.Context,
    loan_id: str,
    reason: str,
    on: date | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Write loan LOAN_ID off (loan-rules section 14): everything it owes on that day
    (principal, interest, penalty, compound interest, handling fees) leaves the book; nothing
    accrues or is deducted after. A four-eyes command: a second person approves it."""
    payload = run_gated(
        ctx,
        db,
        actor,
        lambda app, who, four_eyes: approvals.request_write_off(
            app, loan_id, on=on, reason=reason, by=who, four_eyes=four_eyes
        ),
        views.write_off,
    )

    def done() -> None:
        kv_table(f"Write-off of {payload['total']} on {payload['on']}", payload)

    print_gated(payload, as_json, done)


@click.command("recover", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.argument("amount", type=MONEY)
@click.option(
    "--on", "on", type=DATE, help="Business date (YYYY-MM-DD; default: the business date)."
)
@click.option(
    "--reason",
    default="recovery",
    show_default=True,
    type=TEXT,
    metavar="REASON",
    help="Where the money came from (a collection agency, the borrower).",
)
@actor_option
@db_option
@json_option
@click.pass_context
def loan_recover(
    ctx: click.Context,
    loan_id: str,
    amount: Decimal,
    on: date | None,
    reason: str,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Record AMOUNT (e.g. 300.00) received on written-off loan LOAN_ID (loan-rules section
    14); refused above what is written off and not yet recovered."""
    app = open_for(ctx, db)
    who = person(actor)

    def command() -> dict[str, Any]:
        recovered = app.recover(loan_id, amount, on=on, actor=who.name, reason=reason)
        return views.recovery(recovered)

    with acting_as(who.name):
        payload = app.execute(command)
    if as_json:
        emit(payload)
        return
    kv_table(f"Recovery of {payload['amount']} on {payload['on']}", payload)
