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
from types import FrameType
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ledger.cli.common import (
    LOAN_REF,
    CliError,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.output import emit, err, out
from ledger.cli.progress import progress_bar
from ledger.services.application import loan_id_for
from projections import NAMES, Projections
from projections.base import DEFAULT_PAGE

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
    metavar="N",
    help="Events per transaction.",
)


@projections_group.command("catch-up")
@names_argument
@page_option
@db_option
@json_option
@click.pass_context
def catch_up(
    ctx: click.Context, names: tuple[str, ...], page: int, db: str | None, as_json: bool
) -> None:
    """Apply every event recorded after each projection's position (all, or NAMES), then
    exit."""
    _run(ctx, db, page, names, as_json, rebuild=False)


@projections_group.command("rebuild")
@names_argument
@page_option
@db_option
@json_option
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
@db_option
@json_option
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
@db_option
@json_option
@click.pass_context
def release(
    ctx: click.Context, loan_id: str, names: tuple[str, ...], db: str | None, as_json: bool
) -> None:
    """Take quarantined loan LOAN_ID back: drop its quarantine and build its rows again from its
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
@click.option(
    "--poll",
    type=float,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls.",
)
@page_option
@db_option
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
