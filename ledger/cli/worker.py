"""``ledger worker`` and ``ledger status``: the scheduler's side of the command line."""

from __future__ import annotations

import json
import sys
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.table import Table

from ledger.adapters.clock import SystemClock
from ledger.adapters.config import Settings
from ledger.adapters.directory import MAX_PARTITIONS
from ledger.cli.common import DATE, CliError, db_option, json_option, open_for, store_url, wiring
from ledger.cli.logs import LEVELS, logging_on_stderr
from ledger.cli.output import out
from ledger.cli.progress import days_progress, progress_bar
from ledger.read.status import status_report
from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate
from scheduler.worker import Worker, WorkerSettings


def _time(value: str, what: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise CliError(f"{what}: {value!r} is not a time of day (expected HH:MM)") from None


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--timezone: unknown timezone {name!r}") from None
    return name


timezone_option = click.option(
    "--timezone",
    metavar="ZONE",
    envvar="LEDGER_TIMEZONE",
    show_envvar=True,
    help="The business timezone, e.g. Asia/Shanghai (default Asia/Shanghai).",
)


@click.command("worker")
@click.option(
    "--through",
    type=DATE,
    help="Catch up every business day through this one (YYYY-MM-DD), then exit.",
)
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option(
    "--partitions",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help=f"Workers the book is split between (1 to {MAX_PARTITIONS}).",
)
@click.option(
    "--partition",
    type=int,
    default=0,
    show_default=True,
    metavar="I",
    help="This worker's share of the book: 0 to N-1.",
)
@timezone_option
@click.option(
    "--morning-at",
    metavar="HH:MM",
    envvar="LEDGER_MORNING_AT",
    show_envvar=True,
    help="Time of the morning pass: due installments, deductions (default 06:00).",
)
@click.option(
    "--end-of-day-at",
    metavar="HH:MM",
    envvar="LEDGER_END_OF_DAY_AT",
    show_envvar=True,
    help="Time of the end-of-day pass of the day before: accruals (default 00:05).",
)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    envvar="LEDGER_LOG_LEVEL",
    show_envvar=True,
    help="The least severe log records written (JSON lines on stderr, or readable lines on "
    "a terminal).",
)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (batch modes).")
@click.pass_context
def worker(
    ctx: click.Context,
    through: date | None,
    once: bool,
    partitions: int,
    partition: int,
    timezone: str | None,
    morning_at: str | None,
    end_of_day_at: str | None,
    log_level: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Run close-of-business every business day (APScheduler), catching up after downtime.
    Its log is one JSON object a line on stderr (time, level, logger, message, fields)."""
    if through and once:
        raise CliError("give at most one of --through and --once")
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise CliError(f"--partitions must be 1..{MAX_PARTITIONS}")
    if not 0 <= partition < partitions:
        raise CliError(f"--partition must be 0..{partitions - 1}")
    url = store_url(ctx, db)
    env = Settings.from_env(url)
    settings = WorkerSettings(
        timezone=_zone(timezone or env.timezone),
        morning_at=_time(morning_at or env.morning_at, "--morning-at"),
        end_of_day_at=_time(end_of_day_at or env.end_of_day_at, "--end-of-day-at"),
        partition=partition,
        partitions=partitions,
    )
    interactive = sys.stderr.isatty() and not as_json
    with logging_on_stderr(log_level, interactive=interactive):
        result = _run(ctx, url, settings, until=through, once=once, interactive=interactive)
    if result is None:
        return
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, list)))
    if result.get("failures"):
        sys.exit(1)


def _run(
    ctx: click.Context,
    url: str | None,
    settings: WorkerSettings,
    *,
    until: date | None,
    once: bool,
    interactive: bool,
) -> dict[str, Any] | None:
    """Run the worker: until stopped (None), or one catch-up or due pass (its result)."""

    def factory() -> LedgerApp:
        opened: LedgerApp = wiring(ctx).open_app(
            url, today=(ctx.find_root().obj or {}).get("today")
        )
        return opened

    where = f"{settings.partition}/{settings.partitions}"
    shown = days_progress(interactive, until) if until else progress_bar(interactive)
    with shown as progress:
        w = Worker(factory, settings, clock=SystemClock(), progress=progress)
        if until is None and not once:
            w.run_forever()
            return None
        w.install_signal_handlers()
        if until is not None:
            report = w.catch_up(until)
            return {
                "through": until.isoformat(),
                "partition": where,
                "last_closed": report.last_closed.isoformat() if report.last_closed else None,
                "days": len(report.days),
                "loans": report.loans,
                "events": report.events,
                "failures": report.failures,
                "stopped": report.stopped,
            }
        w.run_due()
        cal = w.app.find_calendar(settings.partition, settings.partitions)
        return {
            "partition": where,
            "last_closed": cal.last_closed.isoformat() if cal and cal.last_closed else None,
            "stopped": w.stopping,
        }


@click.command("status")
@timezone_option
@db_option
@json_option
@click.pass_context
def status(ctx: click.Context, timezone: str | None, db: str | None, as_json: bool) -> None:
    """Last closed business day per partition, loans by status, and who is behind."""
    env = Settings.from_env(store_url(ctx, db))
    tz = _zone(timezone or env.timezone)
    app = open_for(ctx, db)
    in_force = app.business_date
    if timezone is not None and in_force.fixed is None:
        in_force = BusinessDate(timezone=tz)
    today = in_force.today()
    result = status_report(app, today.day)
    result["business_date"] = today.as_dict()
    result["timezone"] = tz
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from ledger.cli.projections import projections_line, quarantined_table, unavailable

    loans = result["loans"]
    counts = (
        f"{loans['active']} active, {loans['overdue']} overdue, {loans['closed']} closed"
        + (f", {loans['written_off']} written off" if loans.get("written_off") else "")
        if "active" in loans
        else "?"
    )
    out.print(
        f"business today: {result['business_today']} ({today.source}); loans: {counts}"
        + (f" ({loans['error']})" if "error" in loans else ""),
        markup=False,
    )
    partitions = result["partitions"]
    if isinstance(partitions, dict):
        out.print(unavailable("close-of-business by partition", partitions), soft_wrap=True)
    else:
        table = Table(title="Close-of-business by partition")
        for c in ("partition", "last closed", "behind (days)", "last pass", "failures"):
            table.add_column(c)
        for p in partitions:
            last = p.get("last_pass")
            table.add_row(
                p["partition"],
                p.get("last_closed") or "-",
                str(p.get("behind_days", "?")),
                f"{last['kind']} {last['business_date']} at {last['finished_at']}" if last else "-",
                p.get("error")
                or "; ".join(f"{f['loan_id']}: {f['error']}" for f in p["failures"])
                or "-",
            )
        out.print(table)
    out.print(projections_line(result["projections"]), soft_wrap=True)
    out.print(quarantined_table(result["quarantined"]), soft_wrap=True)
