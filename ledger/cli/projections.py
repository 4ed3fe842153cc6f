"""``ledger projections ...``, ``ledger loan statement`` and ``ledger portfolio``.

Commands that read a projection catch it up first (everything recorded so far is applied),
unless ``--stale-ok`` is given: then they read it as it is and say on stderr how many events
behind it is. A loan a projection quarantined (one of its events cannot be applied) is refused
with one line naming the event; ``ledger projections release`` takes it back once fixed.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import date
from types import FrameType
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ledger.cli.common import (
    LOAN_REF,
    CliError,
    emit,
    err,
    open_for,
    out,
    parse_optional_date,
    progress_bar,
)
from ledger.domain.errors import LedgerError, NotFound
from ledger.services.application import LedgerApp, loan_id_for
from projections import NAMES, Projections
from projections import balances as balances_view
from projections import schedule as schedule_view
from projections import statements as statements_view
from projections.base import DEFAULT_PAGE

TEXT_COLUMNS = {"product", "status", "bucket", "name", "description"}


def fresh(app: LedgerApp, name: str, *, stale_ok: bool = False) -> Projections:
    """The projections, with ``name`` caught up (or, with ``stale_ok``, its lag reported)."""
    projections = Projections(app)
    if stale_ok:
        lag = projections.select([name])[0].lag()
        if lag:
            err.print(f"note: projection {name} is {lag} events behind the log", markup=False)
    else:
        projections.catch_up([name])
    return projections


def stale_ok_option(f: Any) -> Any:
    return click.option(
        "--stale-ok",
        is_flag=True,
        help="Read the projection as it is, without catching it up (its lag goes to stderr).",
    )(f)


# --------------------------------------------------------------------------- projections


@click.group("projections")
def projections_group() -> None:
    """Read models built from the events: balances, schedule, statements, portfolio."""


names_argument = click.argument("names", nargs=-1, type=click.Choice(NAMES))
page_option = click.option(
    "--page",
    type=click.IntRange(min=1),
    default=DEFAULT_PAGE,
    show_default=True,
    help="Events per transaction.",
)


@projections_group.command("catch-up")
@names_argument
@page_option
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def catch_up(
    ctx: click.Context, names: tuple[str, ...], page: int, db: str | None, as_json: bool
) -> None:
    """Apply every event recorded after each projection's position, then exit."""
    _run(ctx, db, page, names, as_json, rebuild=False)


@projections_group.command("rebuild")
@names_argument
@page_option
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def rebuild(
    ctx: click.Context, names: tuple[str, ...], page: int, db: str | None, as_json: bool
) -> None:
    """Drop the projections (all, or NAMES) and replay every event from the first one."""
    _run(ctx, db, page, names, as_json, rebuild=True)


def _run(
    ctx: click.Context,
    db: str | None,
    page: int,
    names: tuple[str, ...],
    as_json: bool,
    *,
    rebuild: bool,
) -> None:
    projections = Projections(open_for(ctx, db), page=page)
    run = projections.rebuild if rebuild else projections.catch_up
    started = time.perf_counter()
    with progress_bar(sys.stderr.isatty() and not as_json, describe=str, per_key=True) as progress:
        applied = run(list(names), progress=progress)
    seconds = time.perf_counter() - started
    held = projections.quarantined()
    if as_json:
        emit(
            {
                "projections": applied,
                "seconds": round(seconds, 3),
                "quarantined": [q.as_dict() for q in held],
            }
        )
        return
    for name, n in applied.items():
        out.print(f"{name}: {'rebuilt' if rebuild else 'caught up'}, {n} events applied")
    for q in held:
        err.print(f"quarantined: {q.message()}", markup=False, highlight=False, soft_wrap=True)


@projections_group.command("status")
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def status(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """Each projection's position in the log, how many events it is behind, and how many
    loans it quarantined."""
    app = open_for(ctx, db)
    rows = [s.as_dict() for s in Projections(app).status()]
    if as_json:
        emit(rows)
        return
    table = Table(title="Projections")
    numbers = ("position", "head", "lag", "quarantined")
    for c in ("name", *numbers, "description"):
        table.add_column(c, justify="right" if c in numbers else "left")
    for r in rows:
        table.add_row(r["name"], *(str(r[c]) for c in numbers), r["description"])
    out.print(table)


def unavailable(what: str, part: dict[str, Any]) -> Text:
    """A part of ``ledger status`` that could not be computed, as one line."""
    return Text(f"{what}: unavailable ({part['error']})")


def projections_line(rows: list[dict[str, Any]] | dict[str, Any]) -> Text:
    """The projections line of ``ledger status``: how far behind each one is, and how many
    loans it quarantined."""
    if isinstance(rows, dict):
        return unavailable("projections", rows)
    parts = []
    for p in rows:
        where = "up to date" if p["up_to_date"] else f"{p['lag']} events behind"
        n = p["quarantined"]
        held = f" ({n} loan{'' if n == 1 else 's'} quarantined)" if n else ""
        parts.append(f"{p['name']} {where}{held}")
    return Text("projections: " + ", ".join(parts))


def quarantined_table(rows: list[dict[str, Any]] | dict[str, Any]) -> Table | Text:
    """The loans the projections set apart (``ledger status``), or that there are none."""
    if isinstance(rows, dict):
        return unavailable("quarantined loans", rows)
    if not rows:
        return Text("quarantined loans: none")
    table = Table(title="Quarantined loans (release: ledger projections release LOAN_ID)")
    for c in ("loan", "projection", "event", "error", "since"):
        table.add_column(c)
    for q in rows:
        event = f"{q['version']} {q['kind']} (log {q['position']}), {q['skipped']} skipped after"
        loan = q["reference"] or q["loan_id"]
        table.add_row(
            *(Text(str(v)) for v in (loan, q["projection"], event, q["error"])), q["quarantined_at"]
        )
    return table


@projections_group.command("release")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--projection",
    "names",
    multiple=True,
    type=click.Choice(NAMES),
    help="Only this projection (repeatable); default: every one that quarantined the loan.",
)
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def release(
    ctx: click.Context, loan_id: str, names: tuple[str, ...], db: str | None, as_json: bool
) -> None:
    """Take a quarantined loan back: drop its quarantine and build its rows again from its
    events (once the code or the stored event is fixed). Refused, and the loan left
    quarantined, if its events still cannot be applied."""
    projections = Projections(open_for(ctx, db))
    released = projections.release(loan_id_for(loan_id), list(names), label=loan_id)
    if as_json:
        emit({"loan_id": loan_id, "released": released})
        return
    for name, n in released.items():
        out.print(f"{loan_id}: released from {name}, {n} events applied")


@projections_group.command("run")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between polls.")
@page_option
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.pass_context
def run(ctx: click.Context, poll: float, page: int, db: str | None) -> None:
    """Follow the log: catch every projection up, then keep polling for new events until
    SIGTERM or Ctrl-C (the batch in hand is committed or rolled back, never half done)."""
    if poll <= 0:
        raise CliError("--poll must be positive")
    app = open_for(ctx, db)
    projections = Projections(app, page=page)
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    err.print(f"following the log; projections: {', '.join(NAMES)}", markup=False)
    while not stop.is_set():
        applied = projections.catch_up(stop=stop.is_set)
        if any(applied.values()):
            err.print(
                " ".join(f"{n}+{k}" for n, k in applied.items() if k), markup=False, highlight=False
            )
        stop.wait(poll)


# --------------------------------------------------------------------------- readers


def read_balance(app: LedgerApp, reference: str, *, stale_ok: bool = False) -> dict[str, Any]:
    """``ledger loan show`` from the balances projection."""
    balances = fresh(app, "balances", stale_ok=stale_ok).balances
    row = balances.read(loan_id_for(reference))
    if row is None:
        raise NotFound(f"unknown loan {reference}")
    return balances_view.shown(row)


def read_schedule(
    app: LedgerApp, reference: str, *, stale_ok: bool = False
) -> list[dict[str, Any]]:
    rows = fresh(app, "schedule", stale_ok=stale_ok).schedule.read(loan_id_for(reference))
    if not rows:
        raise NotFound(f"unknown loan {reference}")
    return [schedule_view.shown(r) for r in rows]


@click.command("statement")
@click.argument("loan_id")
@click.option("--month", help="Statement month YYYY-MM (the month of its due date); default: all.")
@stale_ok_option
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def statement(
    ctx: click.Context,
    loan_id: str,
    month: str | None,
    stale_ok: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """The loan's monthly statement (cycle ending on its due date in that month)."""
    if month is not None:
        try:
            date.fromisoformat(f"{month}-01")
        except ValueError:
            raise CliError(f"--month: {month!r} is not a month (expected YYYY-MM)") from None
    app = open_for(ctx, db)
    statements = fresh(app, "statements", stale_ok=stale_ok).statements
    rows = statements.read(loan_id_for(loan_id))
    if not rows:
        raise NotFound(f"unknown loan {loan_id}")
    reference = loan_id
    if month is not None:
        chosen = [r for r in rows if r["month"] == month]
        if not chosen:
            raise LedgerError(
                f"loan {loan_id} has no statement for {month}: its statements run from "
                f"{rows[0]['month']} to {rows[-1]['month']}"
            )
        rows = chosen
    shown = [{"loan_id": reference, **statements_view.shown(r)} for r in rows]
    if as_json:
        emit(shown[0] if month is not None else shown)
        return
    for s in shown:
        _print_statement(s)


def _print_statement(s: dict[str, Any]) -> None:
    table = Table(
        title=f"Statement {s['month']} of {s['loan_id']} "
        f"({s['period_start']} to {s['period_end']})",
        show_header=False,
    )
    table.add_column("line")
    table.add_column("amount", justify="right")
    lines = [
        ("opening balance", s["opening_balance"]),
        ("+ disbursed", s["disbursed"]),
        (f"+ interest (accrued exactly {s['normal_accrued']})", s["interest"]),
        (f"+ penalty (accrued exactly {s['penalty_accrued']})", s["penalty"]),
        ("+ fees", s["fees"]),
    ]
    for source in ("deducted", "repaid", "prepaid"):
        for part in ("penalty", "interest", "principal", "fee"):
            value = s[f"{source}_{part}"]
            if value != "0.00":
                lines.append((f"- {source}: {part}", value))
    lines.append(("- paid in total", s["paid_total"]))
    if s["waived"] != "0.00":
        lines.append(("- waived", s["waived"]))
    if s["adjustments"] != "0.00":
        lines.append(("+ adjustments (corrections of the past)", s["adjustments"]))
    lines.append(("closing balance", s["closing_balance"]))
    for label, value in lines:
        table.add_row(label, value)
    out.print(table)


@click.command("portfolio")
@click.option("--as-of", "as_of", help="End of this business day (default: the last one run).")
@stale_ok_option
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def portfolio(
    ctx: click.Context, as_of: str | None, stale_ok: bool, db: str | None, as_json: bool
) -> None:
    """Totals by product and status, and delinquency buckets by days past due."""
    day = parse_optional_date(as_of, "--as-of")
    app = open_for(ctx, db)
    projection = fresh(app, "portfolio", stale_ok=stale_ok).portfolio
    last = projection.last_business_day()
    if day is not None and (last is None or day > last):
        raise LedgerError(
            f"--as-of {day}: the book has run only through {last or 'no business day yet'}"
        )
    report = projection.report(day)
    if as_json:
        emit(report)
        return
    out.print(
        f"Portfolio as of {report['as_of']}: {report['open_loans']} open loans, principal "
        f"{report['principal_outstanding']}, overdue {report['overdue_amount']}"
    )
    _rows_table(
        "By product and status",
        report["by_product"],
        ["product", "status", "loans", "principal_outstanding", "overdue_amount"],
    )
    _rows_table(
        "Delinquency buckets (days past due)",
        report["buckets"],
        ["bucket", "loans", "principal_outstanding", "overdue_amount", "share_of_principal"],
    )


def _rows_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if c in TEXT_COLUMNS else "right")
    for r in rows:
        table.add_row(*(str(r[c]) for c in columns))
    out.print(table)
