"""``ledger worker`` and ``ledger status``: the scheduler's side of the command line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from ledger.adapters.clock import SystemClock
from ledger.adapters.config import Settings
from ledger.adapters.directory import MAX_PARTITIONS
from ledger.cli.common import CliError, err, open_for, parse_optional_date, progress_bar, wiring
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


def _configure_logging(interactive: bool) -> None:
    handler: logging.Handler
    if interactive:
        handler = RichHandler(console=err, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("ledger")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


@click.command("worker")
@click.option("--through", help="Catch up every business day through D, then exit.")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--partitions", type=int, default=1, show_default=True)
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("--timezone", help="Business timezone (default $LEDGER_TIMEZONE or Asia/Shanghai).")
@click.option("--morning-at", help="Morning pass time, HH:MM (default 06:00).")
@click.option("--end-of-day-at", help="End-of-day pass time, HH:MM (default 00:05).")
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (batch modes).")
@click.pass_context
def worker(
    ctx: click.Context,
    through: str | None,
    once: bool,
    partitions: int,
    partition: int,
    timezone: str | None,
    morning_at: str | None,
    end_of_day_at: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Run close-of-business every business day (APScheduler), catching up after downtime."""
    if through and once:
        raise CliError("give at most one of --through and --once")
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise CliError(f"--partitions must be 1..{MAX_PARTITIONS}")
    if not 0 <= partition < partitions:
        raise CliError(f"--partition must be 0..{partitions - 1}")
    until = parse_optional_date(through or None, "--through")
    url = db or (ctx.obj or {}).get("db")
    env = Settings.from_env(url)
    settings = WorkerSettings(
        timezone=_zone(timezone or env.timezone),
        morning_at=_time(morning_at or env.morning_at, "--morning-at"),
        end_of_day_at=_time(end_of_day_at or env.end_of_day_at, "--end-of-day-at"),
        partition=partition,
        partitions=partitions,
    )
    interactive = sys.stderr.isatty() and not as_json
    _configure_logging(interactive)

    def factory() -> LedgerApp:
        opened: LedgerApp = wiring(ctx).open_app(
            url, today=(ctx.find_root().obj or {}).get("today")
        )
        return opened

    with progress_bar(interactive) as progress:
        w = Worker(factory, settings, clock=SystemClock(), progress=progress)
        if until is None and not once:
            w.run_forever()
            return
        w.install_signal_handlers()
        if until is not None:
            report = w.catch_up(until)
            result: dict[str, Any] = {
                "through": until.isoformat(),
                "partition": f"{partition}/{partitions}",
                "last_closed": report.last_closed.isoformat() if report.last_closed else None,
                "days": len(report.days),
                "loans": report.loans,
                "events": report.events,
                "failures": report.failures,
                "stopped": report.stopped,
            }
        else:
            w.run_due()
            cal = w.app.find_calendar(partition, partitions)
            result = {
                "partition": f"{partition}/{partitions}",
                "last_closed": cal.last_closed.isoformat() if cal and cal.last_closed else None,
                "stopped": w.stopping,
            }
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, list)))
    if result.get("failures"):
        sys.exit(1)


@click.command("status")
@click.option("--timezone", help="Business timezone (default $LEDGER_TIMEZONE or Asia/Shanghai).")
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def status(ctx: click.Context, timezone: str | None, db: str | None, as_json: bool) -> None:
    """Last closed business day per partition, loans by status, and who is behind."""
    root = ctx.find_root().obj or {}
    url = db or root.get("db")
    env = Settings.from_env(url)
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

    out = Console()
    loans = result["loans"]
    counts = (
        f"{loans['active']} active, {loans['overdue']} overdue, {loans['closed']} closed"
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
