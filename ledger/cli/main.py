"""The ``ledger`` command line (contract: docs/cli.md).

Every command that takes ``--json`` prints one JSON document on stdout and nothing else
there. Errors print one line on stderr and exit with status 2; a refused command writes no
event (the application saves only after every check has passed).
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ledger.adapters.config import default_actor, one_line
from ledger.cli.common import (
    DATE,
    LOAN_REF,
    CliError,
    Wiring,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.help_text import top_epilog
from ledger.cli.lazy import LazyGroup
from ledger.cli.output import emit, err, kv_table, out
from ledger.domain.actor import acting_as
from ledger.domain.errors import (
    Busy,
    LedgerError,
    Quarantined,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from ledger.services.application import LedgerApp

EXIT_REFUSED = 2  # bad input or a refused command: nothing written
EXIT_STORE = 3  # the database is unreachable or failed
EXIT_QUARANTINED = 4  # the loan's events cannot be read or trusted (quarantined)
EXIT_INTERNAL = 70  # a bug: reported on one line; LEDGER_DEBUG=1 shows the trace
EXIT_BUSY = 75  # concurrent writers kept winning: retry (EX_TEMPFAIL)


# Every command and group not defined here, imported only when it is called (ledger.cli.lazy):
# `ledger loan show` never loads the worker's scheduler, the HTTP API or the exports.
COMMANDS = {
    "accounting": "ledger.cli.accounting:accounting_group",
    "api": "ledger.cli.api:api_group",
    "api-key": "ledger.cli.api:api_key",
    "approval": "ledger.cli.approvals:approval_group",
    "audit": "ledger.cli.audit:audit_group",
    "dispute": "ledger.cli.disputes:dispute_group",
    "export": "ledger.cli.exports:export_group",
    "gateway": "ledger.cli.gateway:gateway_group",
    "portfolio": "ledger.cli.reports:portfolio",
    "projections": "ledger.cli.projections:projections_group",
    "serve": "ledger.cli.api:serve",
    "status": "ledger.cli.worker:status",
    "worker": "ledger.cli.worker:worker",
}
LOAN_COMMANDS = {
    "events": "ledger.cli.loan:loan_events",
    "explain": "ledger.cli.audit:explain",
    "list": "ledger.cli.reports:loan_list",
    "open": "ledger.cli.loan_open:loan_open",
    "prepay": "ledger.cli.loan:loan_prepay",
    "recover": "ledger.cli.remedies:loan_recover",
    "refund": "ledger.cli.remedies:loan_refund",
    "repay": "ledger.cli.loan:loan_repay",
    "restructure": "ledger.cli.restructure:loan_restructure",
    "reverse": "ledger.cli.loan:loan_reverse",
    "schedule": "ledger.cli.loan:loan_schedule",
    "show": "ledger.cli.loan_show:loan_show",
    "statement": "ledger.cli.reports:statement",
    "waive": "ledger.cli.remedies:loan_waive",
    "write-off": "ledger.cli.remedies:loan_write_off",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=top_epilog(),
)
@click.version_option(
    package_name="loan-ledger", prog_name="ledger", message="%(prog)s %(version)s"
)
@db_option
@click.option(
    "--today",
    metavar="DATE",
    envvar="LEDGER_TODAY",
    show_envvar=True,
    help="The business date in force (YYYY-MM-DD), for simulations (default: today in "
    "$LEDGER_TIMEZONE). Nothing may be dated after it.",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None, today: str | None) -> None:
    """An event-sourced ledger for consumer loans. Every command takes -h."""
    given = ctx.get_parameter_source("db") is ParameterSource.COMMANDLINE
    if ctx.get_parameter_source("today") is ParameterSource.ENVIRONMENT:
        today = None  # read by the business date itself, which names $LEDGER_TODAY its source
    ctx.obj = {**(ctx.obj or {}), "db": db, "db_given": given, "today": today}


@cli.group(cls=LazyGroup, lazy=LOAN_COMMANDS)
def loan() -> None:
    """Open, repay, prepay and inspect loans."""


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
    """Set what the borrower's linked account of loan LOAN_ID holds: AMOUNT (e.g. 500.00;
    0 makes every deduction fail) or 'unlimited' (the default: no limit)."""
    balance = None if amount == "unlimited" else _balance(amount)
    app = open_for(ctx, db, creates=True)
    account = app.execute(lambda: app.set_balance(loan_id, balance))
    shown = "unlimited" if account.balance is None else str(account.balance)
    if as_json:
        emit({"loan_id": loan_id, "balance": shown})
    else:
        out.print(f"linked account of {loan_id}: balance {shown}")


def _balance(text: str) -> Decimal:
    from ledger.services.parsing import money_text

    amount = money_text(text, "AMOUNT")
    if amount < 0:
        raise CliError(f"AMOUNT: a balance may not be negative, got {text}")
    return amount


# --------------------------------------------------------------------------- close-day


@cli.command("close-day")
@click.option(
    "--through",
    required=True,
    type=DATE,
    help="The last business date to run (YYYY-MM-DD), at most today.",
)
@db_option
@json_option
@click.pass_context
def close_day(ctx: click.Context, through: date, db: str | None, as_json: bool) -> None:
    """Run every business day not yet run, up to and including --through, for all loans.
    On a terminal, one progress bar on stderr: days done of the days to run, and the time
    remaining."""
    from ledger.read import views

    day = through
    app = open_for(ctx, db, creates=True)
    report = _close_with_progress(app, day, show=sys.stderr.isatty())
    payload = views.close_report(report)
    if as_json:
        emit(payload)
    else:
        kv_table(f"Close of business through {day}", payload)
    if report.failures:
        for f in report.failures:
            err.print(f"failed: loan {f['loan_id']} on {f['day']}: {f['error']}")
        sys.exit(1)


def _close_with_progress(app: LedgerApp, through: date, *, show: bool) -> Any:
    from ledger.cli.progress import days_progress

    with days_progress(show, through) as progress:
        return app.close_days(through, progress=progress)


# --------------------------------------------------------------------------- demo


@cli.command("demo")
@click.option(
    "--db",
    "db",
    default=None,
    metavar="URL",
    help="A fresh store to run the tour on (default: a new temporary SQLite file; "
    "$LEDGER_DATABASE_URL is not used).",
)
@click.pass_context
def demo(ctx: click.Context, db: str | None) -> None:
    """A self-contained tour on a fresh store (a temporary SQLite file by default)."""
    from ledger.cli.demo import run_demo

    root = ctx.find_root().obj or {}
    run_demo(db or (root.get("db") if root.get("db_given") else None), out)


EXIT_BY_ERROR: list[tuple[type[LedgerError], int]] = [
    (StoreUnavailable, EXIT_STORE),
    (Quarantined, EXIT_QUARANTINED),
    (Busy, EXIT_BUSY),
    (LedgerError, EXIT_REFUSED),
]


def _fail(message: str, status: int) -> int:
    click.echo(f"error: {message}", err=True)
    return status


def _database_errors() -> tuple[type[Exception], ...]:
    """The errors of the stores. psycopg's only once it is loaded (a SQLite store never loads
    it, and importing it costs a tenth of a second): a psycopg error cannot be raised before."""
    import sqlite3

    from eventsourcing.persistence import PersistenceError

    psycopg = sys.modules.get("psycopg")
    driver: tuple[type[Exception], ...] = (psycopg.Error,) if psycopg is not None else ()
    return (PersistenceError, sqlite3.Error, *driver)


def run(argv: list[str] | None, wiring: Wiring) -> int:
    """Run the CLI with what ``wiring`` builds (:mod:`ledger.bootstrap`); return the exit
    status. Every error is one line on stderr, chosen by the error's type (never by its text);
    a bug too, unless ``LEDGER_DEBUG=1`` asks for the trace."""
    import os

    try:
        with acting_as(default_actor()):  # recorded with every event a command causes
            result = cli.main(
                args=argv, prog_name="ledger", standalone_mode=False, obj={"wiring": wiring}
            )
    except click.exceptions.Abort:
        return _fail("aborted", 130)
    except click.ClickException as error:
        return _fail(error.format_message().replace("\n", " "), EXIT_REFUSED)
    except LedgerError as error:
        status = next(code for kind, code in EXIT_BY_ERROR if isinstance(error, kind))
        return _fail(str(error).replace("\n", " "), status)
    except _database_errors() as error:
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
