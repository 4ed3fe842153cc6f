"""The ``ledger`` command line (contract: shared/spec/cli.md).

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
from ledger.cli_common import CliError, emit, err, open_for, out, parse_date, progress_bar
from ledger.cli_projections import (
    portfolio,
    projections_group,
    read_balance,
    read_schedule,
    stale_ok_option,
    statement,
)
from ledger.config import default_actor
from ledger.domain.actor import acting_as
from ledger.domain.errors import LedgerError
from ledger.domain.terms import PRESETS, DayCount, Method, Replan
from ledger.money import FloatRefused, Rounding, fmt, money
from ledger.products import terms_from_input

F = TypeVar("F", bound=Callable[..., Any])


def _amount(value: str, what: str = "amount") -> Decimal:
    try:
        return money(value, what)
    except (ValueError, TypeError, FloatRefused) as error:
        raise CliError(str(error)) from None


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
        "--actor", help="Who asks for it (default: $LEDGER_ACTOR or your user name)."
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
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """An event-sourced ledger for consumer loans."""
    ctx.obj = {"db": db}


# --------------------------------------------------------------------------- loan


@cli.group()
def loan() -> None:
    """Open, repay, prepay and inspect loans."""


@loan.command("open")
@click.option("--product", required=True, type=click.Choice(sorted(PRESETS)))
@click.option("--principal", required=True)
@click.option("--term", required=True, type=int)
@click.option("--disbursed-on", required=True)
@click.option("--daily-rate")
@click.option("--annual-rate")
@click.option("--day-count", type=click.Choice([d.value for d in DayCount]))
@click.option("--method", type=click.Choice([m.value for m in Method]))
@click.option("--prepayment-fee-rate")
@click.option("--penalty-multiplier")
@click.option("--grace-days", type=int)
@click.option("--installment-multiple")
@click.option("--rounding", type=click.Choice([r.value for r in Rounding]))
@click.option("--loan-id", help="Your reference for the loan (default: a new UUID).")
@db_option
@json_option
@click.pass_context
def loan_open(ctx: click.Context, /, db: str | None, as_json: bool, **flags: Any) -> None:
    """Disburse a loan; flags override the preset."""
    reference = flags.pop("loan_id")
    flags["disbursed_on"] = parse_date(flags["disbursed_on"], "--disbursed-on")
    terms = terms_from_input(**flags)
    app = open_for(ctx, db)
    opened = app.open_loan(terms, reference)
    state = views.loan_state(opened, terms.disbursed_on)
    result = {
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
    if as_json:
        emit(result)
    else:
        _kv(f"Loan {opened.label} opened", result)


@loan.command("repay", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id")
@click.argument("amount")
@click.option("--on", "on", required=True, help="Business date of the repayment.")
@click.option(
    "--backdated",
    is_flag=True,
    help="It really happened on D, a day already closed: recompute the loan from D on.",
)
@click.option("--reason", help="Why (required with --backdated).")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_repay(
    ctx: click.Context,
    loan_id: str,
    amount: str,
    on: str,
    backdated: bool,
    reason: str | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """A repayment on business date D, allocated oldest installment first."""
    value = _amount(amount)
    day = parse_date(on, "--on")
    if backdated:
        if not reason or not reason.strip():
            raise CliError("--backdated needs --reason (a correction records why)")
        app = open_for(ctx, db)
        who = actor or default_actor()
        with acting_as(who):
            corrected = app.repay_backdated(loan_id, value, day, actor=who, reason=reason)
        _emit_correction(app, corrected, as_json)
        return
    if reason is not None:
        raise CliError("--reason goes with --backdated")
    app = open_for(ctx, db)
    repaid, items = app.repay(loan_id, value, day)
    result = views.repayment(repaid, day, value, items)
    if as_json:
        emit(result)
    else:
        _table(
            f"Repayment of {result['amount']} on {day}",
            result["allocations"],
            ["k", "penalty", "interest", "principal", "total"],
        )
        out.print(f"status: {result['status']}, still due: {result['amount_due']}")


@loan.command("reverse")
@click.argument("loan_id")
@click.option("--event", "version", required=True, type=int, help="Version of the payment event.")
@click.option("--reason", required=True, help="Why (e.g. the deduction bounced).")
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
    if not reason.strip():
        raise CliError("--reason must say why")
    app = open_for(ctx, db)
    who = actor or default_actor()
    with acting_as(who):
        corrected = app.reverse(loan_id, version, actor=who, reason=reason)
    _emit_correction(app, corrected, as_json)


@loan.command("waive", context_settings={"ignore_unknown_options": True})
@click.argument("loan_id")
@click.option("--penalty", "penalty", metavar="AMOUNT", help="Waive this much penalty.")
@click.option("--interest", "interest", metavar="AMOUNT", help="Waive this much interest.")
@click.option("--fee", "fee", metavar="AMOUNT", help="Waive this much of a fee.")
@click.option("--reason", required=True, help="Why (goodwill, the outcome of a dispute).")
@click.option("--on", "on", help="Business date (default: the loan's next open day).")
@actor_option
@db_option
@json_option
@click.pass_context
def loan_waive(
    ctx: click.Context,
    loan_id: str,
    penalty: str | None,
    interest: str | None,
    fee: str | None,
    reason: str,
    on: str | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Forgive penalty or interest owed (oldest installment first). No money moves."""
    given = [(p, v) for p, v in (("penalty", penalty), ("interest", interest), ("fee", fee)) if v]
    if len(given) != 1:
        raise CliError("give exactly one of --penalty, --interest and --fee")
    part, raw = given[0]
    value = _amount(raw, f"--{part}")
    day = parse_date(on, "--on") if on else None
    if not reason.strip():
        raise CliError("--reason must say why")
    app = open_for(ctx, db)
    who = actor or default_actor()
    with acting_as(who):
        waived = app.waive(loan_id, part=part, amount=value, on=day, actor=who, reason=reason)
    event = next(e for e in reversed(app.loan_events(loan_id)) if type(e).__name__ == "Waived")
    result = {
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
    if as_json:
        emit(result)
    else:
        _kv(f"Waiver of {fmt(value)} {part} on {result['on']}", result)


def _emit_correction(app: LedgerApp, loan: Any, as_json: bool) -> None:
    event = next(
        e for e in reversed(app.loan_events(str(loan.id))) if type(e).__name__ == "Corrected"
    )
    payload = views.correction(loan, event)
    if as_json:
        emit(payload)
    else:
        _kv(f"Correction recorded on loan {payload['loan_id']}", payload)
        for name, change in payload["differences"].items():
            out.print(f"  {name}: {change}", markup=False, highlight=False)


@loan.command("prepay")
@click.argument("loan_id")
@click.option("--on", "on", required=True)
@click.option("--full", is_flag=True, help="Pay the loan off.")
@click.option("--amount", help="A partial prepayment of this amount.")
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
    on: str,
    full: bool,
    amount: str | None,
    quote: bool,
    replan: str,
    db: str | None,
    as_json: bool,
) -> None:
    """A prepayment (full or partial); --quote only shows it."""
    if full == (amount is not None):
        raise CliError("give exactly one of --full and --amount")
    value = _amount(amount, "--amount") if amount is not None else None
    day = parse_date(on, "--on")
    app = open_for(ctx, db)
    prepaid, result = app.prepay(
        loan_id, day, amount=value, replan=Replan(replan), quote_only=quote
    )
    payload = views.prepayment(prepaid, result, executed=not quote)
    if as_json:
        emit(payload)
    else:
        _kv(f"{'Quote for' if quote else ''} {result.kind} prepayment on {day}".strip(), payload)


@loan.command("show")
@click.argument("loan_id")
@click.option("--as-of", "as_of", help="End of this business day (default: latest).")
@known_at_option
@stale_ok_option
@db_option
@json_option
@click.pass_context
def loan_show(
    ctx: click.Context,
    loan_id: str,
    as_of: str | None,
    known_at: str | None,
    stale_ok: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """The loan's balance at the end of a business day: the latest from the balances
    projection (caught up first), an earlier day from the loan's events up to that day."""
    day = parse_date(as_of, "--as-of") if as_of else None
    moment = parse_moment(known_at)
    app = open_for(ctx, db)
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
@click.argument("loan_id")
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
@click.argument("loan_id")
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
@click.argument("loan_id")
@click.argument("amount")
@db_option
@json_option
@click.pass_context
def bank_set_balance(
    ctx: click.Context, loan_id: str, amount: str, db: str | None, as_json: bool
) -> None:
    """Set the borrower's linked account balance (AMOUNT or 'unlimited')."""
    balance = None if amount.lower() == "unlimited" else _amount(amount)
    app = open_for(ctx, db)
    account = app.set_balance(loan_id, balance)
    shown = "unlimited" if account.balance is None else str(account.balance)
    if as_json:
        emit({"loan_id": loan_id, "balance": shown})
    else:
        out.print(f"linked account of {loan_id}: balance {shown}")


# --------------------------------------------------------------------------- close-day


@cli.command("close-day")
@click.option("--through", required=True, help="Last business date to run.")
@db_option
@json_option
@click.pass_context
def close_day(ctx: click.Context, through: str, db: str | None, as_json: bool) -> None:
    """Run every business day not yet run, up to and including D, for all loans."""
    day = parse_date(through, "--through")
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


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status. Every error is one line on stderr."""
    from eventsourcing.persistence import PersistenceError

    try:
        with acting_as(default_actor()):  # recorded with every event a command causes
            result = cli.main(args=argv, prog_name="ledger", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        return 2
    except LedgerError as error:
        click.echo(f"error: {error}", err=True)
        return 2
    except PersistenceError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        click.echo(f"error: database: {first}", err=True)
        return 3
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
