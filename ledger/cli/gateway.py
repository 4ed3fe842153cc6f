"""``ledger gateway ...``: the asynchronous payment gateway (loan-rules §17): the requests that
await a result, a result typed in, a provider's settlement file imported, the provider polled,
and the reconciliation of a day against the provider's settlement (exit 1 on a difference)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import Any

import click

from ledger.cli.common import DATE, TEXT, CliError, db_option, json_option, open_for
from ledger.cli.output import emit, out, rows_table
from ledger.domain.collection import BOUNCED, SETTLED, STATUSES, GatewayResult
from ledger.domain.errors import InvalidInput
from ledger.domain.money import ZERO, fmt
from ledger.services.application import LedgerApp
from ledger.services.gateway import Recorded
from ledger.services.parsing import money_text
from ledger.services.settlement_file import read_settlement

EXIT_DIFFERENCE = 1  # the reconciliation found a difference
RESULT_COLUMNS = ["result_id", "status", "collected", "loan", "outcome", "event"]


@click.group("gateway")
def gateway_group() -> None:
    """The payment gateway's requests, results and reconciliation (loan-rules section 17)."""


def _read_file(path: str) -> list[GatewayResult]:
    try:
        with open(path, encoding="utf-8") as handle:
            content = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CliError(f"{path}: cannot read it ({reason})") from None
    try:
        return read_settlement(content, path)
    except InvalidInput as error:
        raise CliError(str(error)) from None


def _print_recorded(done: list[Recorded], as_json: bool, what: str) -> None:
    rows = [r.as_dict() for r in done]
    recorded = sum(1 for r in done if r.outcome == "recorded")
    if as_json:
        emit({"results": rows, "recorded": recorded, "already": len(done) - recorded})
        return
    if rows:
        rows_table(what, rows, RESULT_COLUMNS)
    out.print(f"{recorded} recorded, {len(done) - recorded} already recorded before")


@gateway_group.command("pending")
@click.option("--through", type=DATE, help="Only requests made up to this business day.")
@db_option
@json_option
@click.pass_context
def pending(ctx: click.Context, through: date | None, db: str | None, as_json: bool) -> None:
    """The deduction requests that await the gateway's result."""
    rows = [
        {
            "request_id": r.request_id,
            "requested_on": r.requested_on.isoformat(),
            "requested": fmt(r.requested),
        }
        for r in open_for(ctx, db).pending_requests(through)
    ]
    if as_json:
        emit({"pending": rows})
    else:
        rows_table(f"{len(rows)} requests await a result", rows, list(rows[0]) if rows else [])


@gateway_group.command("result")
@click.argument("request_id", metavar="REQUEST_ID", type=TEXT)
@click.option("--status", required=True, type=click.Choice(STATUSES), help="What the bank did.")
@click.option(
    "--amount",
    metavar="AMOUNT",
    help="Money taken (default: all of the request when settled, 0.00 when bounced).",
)
@click.option("--result-id", required=True, type=TEXT, metavar="ID", help="The provider's id.")
@click.option("--taken-on", type=DATE, help="Day the money was taken (default: the request's).")
@db_option
@json_option
@click.pass_context
def result(
    ctx: click.Context,
    request_id: str,
    status: str,
    amount: str | None,
    result_id: str,
    taken_on: date | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Record the result of request REQUEST_ID (as `ledger gateway pending` lists it): once,
    however often it is given."""
    app = open_for(ctx, db)
    collected = _amount(app, request_id, status, amount)
    given = GatewayResult(result_id, request_id, status, collected, taken_on)
    done = app.execute(lambda: app.record_results([given], channel="cli"))
    _print_recorded(done, as_json, f"Result of {request_id}")


def _amount(app: LedgerApp, request_id: str, status: str, amount: str | None) -> Decimal:
    if amount is not None:
        try:
            return money_text(amount, "--amount")
        except InvalidInput as error:
            raise CliError(str(error)) from None
    if status == BOUNCED:
        return ZERO
    if status == SETTLED:
        app.gateway_book.catch_up()
        found = app.gateway_book.find(request_id.strip())
        if found is not None:
            return found.requested
        return ZERO  # refused by the service: no such request
    raise CliError("--amount: a partly settled result says how much was taken")


@gateway_group.command("import")
@click.argument("file", metavar="FILE.csv", type=click.Path(dir_okay=False))
@db_option
@json_option
@click.pass_context
def import_file(ctx: click.Context, file: str, db: str | None, as_json: bool) -> None:
    """Record every result of the settlement file FILE.csv (header
    result_id,request_id,status,amount,taken_on): all of them, or none if one is refused;
    results already recorded are skipped."""
    results = _read_file(file)
    app = open_for(ctx, db)
    done = app.execute(lambda: app.record_results(results, channel="file"))
    _print_recorded(done, as_json, f"Results of {file}")


@gateway_group.command("poll")
@click.option("--through", type=DATE, help="Results available by this day (default: today).")
@db_option
@json_option
@click.pass_context
def poll(ctx: click.Context, through: date | None, db: str | None, as_json: bool) -> None:
    """Send the requests that await a result to the provider and record its results."""
    app = open_for(ctx, db)
    done = app.poll_gateway(through or app.business_date.today().day)
    _print_recorded(done, as_json, "Results from the provider")


@gateway_group.command("reconcile")
@click.option("--date", "on", required=True, type=DATE, help="The day whose money is compared.")
@click.option(
    "--file",
    "file",
    metavar="FILE.csv",
    help="The provider's settlement file (default: ask the provider adapter).",
)
@db_option
@json_option
@click.pass_context
def reconcile(
    ctx: click.Context, on: date, file: str | None, db: str | None, as_json: bool
) -> None:
    """What the ledger recorded as collected on --date against the provider's settlement:
    every request missing on either side, listed twice, or with another amount; exits 1 on
    any difference."""
    lines = _read_file(file) if file is not None else None
    app = open_for(ctx, db)
    report = app.reconcile(on, lines)
    payload: dict[str, Any] = {
        "date": on.isoformat(),
        "ledger_total": fmt(report.ledger_total),
        "provider_total": fmt(report.provider_total),
        "matched": report.matched,
        "differences": [d.as_dict() for d in report.differences],
    }
    if as_json:
        emit(payload)
    else:
        out.print(
            f"{on}: ledger {payload['ledger_total']}, provider {payload['provider_total']}, "
            f"{report.matched} matched"
        )
        if report.differences:
            columns = ["kind", "request_id", "ledger", "provider", "note"]
            rows_table("Differences", payload["differences"], columns)
        else:
            out.print("no differences")
    if report.differences:
        sys.exit(EXIT_DIFFERENCE)
