"""The ``ledger`` command line (contract: docs/cli.md).

Every command that takes ``--json`` prints one JSON document on stdout and nothing else
there. Errors print one line on stderr and exit with status 2; a refused command writes no
event (the application saves only after every check has passed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import click
from rich.table import Table

from ledger import views
from ledger.application import LedgerApp
from ledger.cli_api import api_group, api_key, serve
from ledger.cli_audit import audit_group, explain, known_at_option, parse_moment, show_known_at
from ledger.cli_common import (
    DATE,
    DAYS,
    DECIMAL,
    LOAN_REF,
    MONEY,
    NEW_LOAN_ID,
    TERM,
    TEXT,
    VERSION,
    CliError,
    emit,
    err,
    open_for,
    out,
    progress_bar,
)
from ledger.cli_projections import (
    portfolio,
    projections_group,
    read_balance,
    read_schedule,
    stale_ok_option,
    statement,
)
from ledger.config import default_actor, one_line
from ledger.domain.actor import acting_as
from ledger.domain.errors import (
    Busy,
    LedgerError,
    Quarantined,
    StoreUnavailable,
)
from ledger.domain.loan import Loan
from ledger.domain.terms import PRESETS, DayCount, Method, Replan
from ledger.money import Rounding, fmt
from ledger.products import terms_from_input

F = TypeVar("F", bound=Callable[..., Any])
EXIT_REFUSED = 2  # bad input or a refused command: nothing written
EXIT_STORE = 3  # the database is unreachable or failed
EXIT_QUARANTINED = 4  # the loan's events cannot be read
EXIT_INTERNAL = 70  # a bug: reported on one line; LEDGER_DEBUG=1 shows the trace
EXIT_BUSY = 75  # concurrent writers kept winning: retry (EX_TEMPFAIL)


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        default=None,
        metavar="URL",
        help="sqlite:///path/ledger.db or postgresql://user@host:port/db "
        "(default: $LEDGER_DATABASE_URL or sqlite:///./ledger.db)",
    )(f)


def actor_option(f: F) -> F:
    return click.option(
        "--actor",
        type=TEXT,
        help="Who asks for it (default: $LEDGER_ACTOR or your user name).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c not in ("status", "type", "data") else "left")
    for r in rows:
        table.add_row(*[str(r.get(c, "")) if r.get(c) is not None else "" for c in columns])
    out.print(table)


def _kv(title: str, data: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    for k, v in data.items():
        if isinstance(v, (list, dict)):
            continue
        table.add_row(k, "" if v is None else str(v))
    out.print(table)


@click.group()
@click.option("--db", "db", default=None, metavar="URL", help="The store (see any command).")
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="The business date in force, for simulations (default: $LEDGER_TODAY, else today "
    "in $LEDGER_TIMEZONE). Nothing may be dated after it.",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None, today: str | None) -> None:
    """An event-sourced ledger for consumer loans."""
    ctx.obj = {"db": db, "today": today}


# --------------------------------------------------------------------------- loan


@cli.group()
def loan() -> None:
    """Open, repay, prepay and inspect loans."""


@loan.command("open")
@click.option("--product", required=True, type=click.Choice(sorted(PRESETS)))
@click.option("--principal", required=True, type=MONEY)
@click.option("--term", required=True, type=TERM)
@click.option("--disbursed-on", required=True, type=DATE)
@click.option("--daily-rate", type=DECIMAL)
@click.option("--annual-rate", type=DECIMAL)
@click.option("--day-count", type=click.Choice([d.value for d in DayCount]))
@click.option("--method", type=click.Choice([m.value for m in Method]))
@click.option("--prepayment-fee-rate", type=DECIMAL)
@click.option("--penalty-multiplier", type=DECIMAL)
@click.option("--grace-days", type=DAYS)
@click.option("--installment-multiple", type=DECIMAL)
@click.option("--rounding", type=click.Choice([r.value for r in Rounding]))
@click.option(
    "--loan-id",
    type=NEW_LOAN_ID,
    help="Your reference for the loan: 1 to 64 of A-Z a-z 0-9 . _ -, not a UUID "
    "(default: a new UUID).",
)
@db_option
@json_option
@click.pass_context
def loan_open(ctx: click.Context, /, db: str | None, as_json: bool, **flags: Any) -> None:
    """Disburse a loan; flags override the preset."""
    reference = flags.pop("loan_id")
    terms = terms_from_input(**flags)
    app = open_for(ctx, db)

    def command() -> dict[str, Any]:
        opened = app.open_loan(terms, reference)
        state = views.loan_state(opened, terms.disbursed_on)
        return {
            "loan_id": opened.label,
            "uuid": str(opened.id),
            "product": terms.product,
            "principal": state["principal_outstanding"],
            "term": terms.term,
            "disbursed_on": terms.disbursed_on.isoformat(),
            "method": terms.method.value,
            "emi": str(opened.emi) if terms.method is Method.EQUAL_INSTALLMENT else None,
            "monthly_rate": str(opened.monthly_rate),
            "prepayment_fee_rate": str(terms.prepayment_fee_rate),
        }

    result = app.execute(command)
    if as_json:
        emit(result)
    else:
        _kv(f"Loan {result['loan_id']} opened", result)


@loan.command("repay", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.argument("amount", type=MONEY)
@click.option("--on", "on", required=True, type=DATE, help="Business date of the repayment.")
@click.option(
    "--backdated",
    is_flag=True,
    help="It really happened on D, a day already closed: recompute the loan from D on.",
)
@click.option("--reason", type=TEXT, help="Why (required with --backdated).")
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
    """A repayment on business date D, allocated oldest installment first."""
    if backdated:
        if not reason:
            raise CliError("--backdated needs --reason (a correction records why)")
        app = open_for(ctx, db)
        who = actor or default_actor()
        with acting_as(who):
            payload = app.execute(
                lambda: _correction(
                    app.repay_backdated(loan_id, amount, on, actor=who, reason=reason)
                )
            )
        _emit_correction(payload, as_json)
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
        _table(
            f"Repayment of {result['amount']} on {on}",
            result["allocations"],
            ["k", "penalty", "interest", "principal", "total"],
        )
        out.print(f"status: {result['status']}, still due: {result['amount_due']}")


@loan.command("reverse")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--event", "version", required=True, type=VERSION, help="Version of the payment event."
)
@click.option("--reason", required=True, type=TEXT, help="Why (e.g. the deduction bounced).")
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
    """Reverse a deduction or repayment that bounced; the loan is recomputed without it."""
    app = open_for(ctx, db)
    who = actor or default_actor()
    with acting_as(who):
        payload = app.execute(
            lambda: _correction(app.reverse(loan_id, version, actor=who, reason=reason))
        )
    _emit_correction(payload, as_json)


@loan.command("waive", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.option("--penalty", "penalty", type=MONEY, help="Waive this much penalty.")
@click.option("--interest", "interest", type=MONEY, help="Waive this much interest.")
@click.option("--fee", "fee", type=MONEY, help="Waive this much of a fee.")
@click.option(
    "--reason", required=True, type=TEXT, help="Why (goodwill, the outcome of a dispute)."
)
@click.option("--on", "on", type=DATE, help="Business date (default: the loan's next open day).")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_waive(
    ctx: click.Context,
    loan_id: str,
    penalty: Decimal | None,
    interest: Decimal | None,
    fee: Decimal | None,
    reason: str,
    on: date | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Forgive penalty or interest owed (oldest installment first). No money moves."""
    given = [(p, v) for p, v in (("penalty", penalty), ("interest", interest), ("fee", fee)) if v]
    if len(given) != 1:
        raise CliError("give exactly one of --penalty, --interest and --fee")
    part, value = given[0]
    app = open_for(ctx, db)
    who = actor or default_actor()

    def command() -> dict[str, Any]:
        waived = app.waive(loan_id, part=part, amount=value, on=on, actor=who, reason=reason)
        event = views.newest_pending(waived, Loan.Waived)
        return {
            "loan_id": waived.label,
            "on": event.on.isoformat(),
            "part": part,
            "amount": fmt(value),
            "allocations": [{"k": a["k"], "amount": fmt(a["amount"])} for a in event.allocations],
            "actor": event.actor,
            "reason": event.reason,
            "version": event.originator_version,
            "status": waived.loan_status,
            "amount_due": fmt(waived.amount_due),
        }

    with acting_as(who):
        result = app.execute(command)
    if as_json:
        emit(result)
    else:
        _kv(f"Waiver of {fmt(value)} {part} on {result['on']}", result)


def _correction(loan: Loan) -> dict[str, Any]:
    """The correction a command just made, as printed (from the loan's unsaved events)."""
    return views.correction(loan, views.newest_pending(loan, Loan.Corrected))


def _emit_correction(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(payload)
    else:
        _kv(f"Correction recorded on loan {payload['loan_id']}", payload)
        for name, change in payload["differences"].items():
            out.print(f"  {name}: {change}", markup=False, highlight=False)


@loan.command("prepay")
@click.argument("loan_id", type=LOAN_REF)
@click.option("--on", "on", required=True, type=DATE)
@click.option("--full", is_flag=True, help="Pay the loan off.")
@click.option("--amount", type=MONEY, help="A partial prepayment of this amount.")
@click.option("--quote", is_flag=True, help="Only show what it would pay; write nothing.")
@click.option(
    "--replan",
    type=click.Choice([r.value for r in Replan]),
    default=Replan.REDUCE_INSTALLMENT.value,
    show_default=True,
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
    """A prepayment (full or partial); --quote only shows it."""
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
        _kv(f"{'Quote for' if quote else ''} {kind} prepayment on {on}".strip(), payload)


@loan.command("show")
@click.argument("loan_id", type=LOAN_REF)
@click.option("--as-of", "as_of", type=DATE, help="End of this business day (default: latest).")
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
    """The loan's balance at the end of a business day: the latest from the balances
    projection (caught up first), an earlier day from the loan's events up to that day."""
    day = as_of
    app = open_for(ctx, db)
    moment = parse_moment(known_at, app.business_date.zone)
    if moment is not None:
        state = show_known_at(app, loan_id, day, moment)
    elif day is None:
        state = read_balance(app, loan_id, stale_ok=stale_ok)
    else:
        state = views.loan_state(app.loan_as_of(loan_id, day), day)
    if as_json:
        emit(state)
    else:
        _kv(f"Loan {state['loan_id']} as of {state['as_of']}", state)


@loan.command("schedule")
@click.argument("loan_id", type=LOAN_REF)
@stale_ok_option
@db_option
@json_option
@click.pass_context
def loan_schedule(
    ctx: click.Context, loan_id: str, stale_ok: bool, db: str | None, as_json: bool
) -> None:
    """Installments: planned and actual, collected and when (schedule projection)."""
    app = open_for(ctx, db)
    rows = read_schedule(app, loan_id, stale_ok=stale_ok)
    if as_json:
        emit(rows)
    else:
        _table(
            f"Schedule of {loan_id}",
            rows,
            ["k", "due_date", "principal", "interest", "penalty", "paid", "status"],
        )


@loan.command("events")
@click.argument("loan_id", type=LOAN_REF)
@db_option
@json_option
@click.pass_context
def loan_events(ctx: click.Context, loan_id: str, db: str | None, as_json: bool) -> None:
    """The loan's events in order."""
    app = open_for(ctx, db)
    rows = views.events(app.loan_events(loan_id))
    if as_json:
        emit(rows)
    else:
        _print_events(rows)


def _print_events(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Events")
    for c in ("version", "effective_date", "type", "data"):
        table.add_column(c)
    for r in rows:
        data = ", ".join(
            f"{k}={v}" for k, v in r["data"].items() if v not in (None, [], {}) and k != "terms"
        )
        table.add_row(str(r["version"]), r["effective_date"], r["type"], data)
    out.print(table)


# --------------------------------------------------------------------------- bank


@cli.group()
def bank() -> None:
    """The simulated bank behind the borrowers' linked accounts."""


@bank.command("set-balance", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id", type=LOAN_REF)
@click.argument("amount", metavar="AMOUNT|unlimited")
@db_option
@json_option
@click.pass_context
def bank_set_balance(
    ctx: click.Context, loan_id: str, amount: str, db: str | None, as_json: bool
) -> None:
    """Set the borrower's linked account balance (AMOUNT or 'unlimited')."""
    balance = None if amount == "unlimited" else _balance(amount)
    app = open_for(ctx, db)
    account = app.execute(lambda: app.set_balance(loan_id, balance))
    shown = "unlimited" if account.balance is None else str(account.balance)
    if as_json:
        emit({"loan_id": loan_id, "balance": shown})
    else:
        out.print(f"linked account of {loan_id}: balance {shown}")


def _balance(text: str) -> Decimal:
    from ledger.parsing import money_text

    amount = money_text(text, "AMOUNT")
    if amount < 0:
        raise CliError(f"AMOUNT: a balance may not be negative, got {text}")
    return amount


# --------------------------------------------------------------------------- close-day


@cli.command("close-day")
@click.option("--through", required=True, type=DATE, help="Last business date to run.")
@db_option
@json_option
@click.pass_context
def close_day(ctx: click.Context, through: date, db: str | None, as_json: bool) -> None:
    """Run every business day not yet run, up to and including D, for all loans."""
    day = through
    app = open_for(ctx, db)
    report = _close_with_progress(app, day, show=not as_json and sys.stderr.isatty())
    payload = views.close_report(report)
    if as_json:
        emit(payload)
    else:
        _kv(f"Close of business through {day}", payload)
    if report.failures:
        for f in report.failures:
            err.print(f"failed: loan {f['loan_id']} on {f['day']}: {f['error']}")
        sys.exit(1)


def _close_with_progress(app: LedgerApp, through: date, *, show: bool) -> Any:
    with progress_bar(show) as progress:
        return app.close_days(through, progress=progress)


# --------------------------------------------------------------------------- demo


@cli.command("demo")
@db_option
@click.pass_context
def demo(ctx: click.Context, db: str | None) -> None:
    """A self-contained tour on a fresh store (a temporary SQLite file by default)."""
    from ledger.demo import run_demo

    run_demo(db or (ctx.obj or {}).get("db"), out)


def _register_commands() -> None:
    from ledger.cli_worker import status, worker

    cli.add_command(worker)
    cli.add_command(status)
    cli.add_command(projections_group)
    cli.add_command(portfolio)
    cli.add_command(audit_group)
    cli.add_command(serve)
    cli.add_command(api_key)
    cli.add_command(api_group)
    loan.add_command(statement)
    loan.add_command(explain)


_register_commands()


EXIT_BY_ERROR: list[tuple[type[LedgerError], int]] = [
    (StoreUnavailable, EXIT_STORE),
    (Quarantined, EXIT_QUARANTINED),
    (Busy, EXIT_BUSY),
    (LedgerError, EXIT_REFUSED),
]


def _fail(message: str, status: int) -> int:
    click.echo(f"error: {message}", err=True)
    return status


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status. Every error is one line on stderr, chosen by the
    error's type (never by its text); a bug too, unless ``LEDGER_DEBUG=1`` asks for the trace."""
    import os
    import sqlite3

    import psycopg
    from eventsourcing.persistence import PersistenceError

    try:
        with acting_as(default_actor()):  # recorded with every event a command causes
            result = cli.main(args=argv, prog_name="ledger", standalone_mode=False)
    except click.exceptions.Abort:
        return _fail("aborted", 130)
    except click.ClickException as error:
        return _fail(error.format_message().replace("\n", " "), EXIT_REFUSED)
    except LedgerError as error:
        status = next(code for kind, code in EXIT_BY_ERROR if isinstance(error, kind))
        return _fail(str(error).replace("\n", " "), status)
    except (PersistenceError, psycopg.Error, sqlite3.Error) as error:
        return _fail(f"database: {one_line(error)}", EXIT_STORE)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as error:
        if os.environ.get("LEDGER_DEBUG") == "1":
            raise
        return _fail(
            f"internal error ({one_line(error)}); LEDGER_DEBUG=1 shows more", EXIT_INTERNAL
        )
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
