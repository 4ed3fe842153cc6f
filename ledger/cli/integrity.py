"""``ledger audit checkpoint ...`` and ``ledger audit release``: the daily checkpoints of
every loan's chain head (take, export for a copy kept outside the database, verify against
such a copy) and the release of a loan quarantined for failing an integrity check."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ledger.cli.common import (
    DATE,
    LOAN_REF,
    TEXT,
    CliError,
    db_option,
    json_option,
    open_for,
    write_new_file,
)
from ledger.cli.output import emit, out
from ledger.services import integrity
from ledger.services.application import loan_id_for


@click.group("checkpoint")
def checkpoint_group() -> None:
    """Daily checkpoints: every loan's chain head, anchored and sealed with the chain key."""


@checkpoint_group.command("take")
@click.option("--day", type=DATE, help="The business day it closes, YYYY-MM-DD (default: today).")
@db_option
@json_option
@click.pass_context
def take(ctx: click.Context, day: date | None, db: str | None, as_json: bool) -> None:
    """Anchor every loan's newest chain head now (close-of-business does it every day)."""
    app = open_for(ctx, db)
    when = app.business_date.check(day, "--day") if day else app.business_date.today().day
    made = integrity.take_checkpoint(app, when)
    if made is None:
        raise CliError("another process took the same checkpoint at the same moment; retry")
    if as_json:
        emit(made.as_dict())
    else:
        out.print(f"checkpoint {made.seq} of {made.day}: {made.loans} loans anchored")


@checkpoint_group.command("export")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE (a new file) instead of stdout.",
)
@click.option("--force", is_flag=True, help="With --out: replace FILE if it exists.")
@db_option
@click.pass_context
def export(ctx: click.Context, out_file: str | None, force: bool, db: str | None) -> None:
    """Every checkpoint as JSON lines, to keep a copy outside the database."""
    text = "".join(line + "\n" for line in integrity.export_lines(open_for(ctx, db)))
    if out_file is None:
        sys.stdout.write(text)
    else:
        write_new_file(out_file, text, replace=force)


@checkpoint_group.command("verify")
@click.option(
    "--copy",
    "copy_file",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="An exported copy to compare the stored checkpoints with.",
)
@db_option
@json_option
@click.pass_context
def verify(ctx: click.Context, copy_file: str | None, db: str | None, as_json: bool) -> None:
    """Check the seals and the chain of the checkpoints and the anchors, and (with --copy)
    that the stored checkpoints are the ones exported. Exit status 1 on any problem."""
    app = open_for(ctx, db)
    problems = integrity.checkpoint_problems(app)
    if copy_file is not None:
        try:
            lines = Path(copy_file).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"--copy: cannot read {copy_file}: {error}") from None
        problems += integrity.compare_with_copy(app, lines)
    checked = len(app.checkpoints.all())
    if as_json:
        emit({"checkpoints": checked, "clean": not problems, "problems": problems})
    else:
        for problem in problems:
            out.print(f"[red]{problem}[/red]", highlight=False)
        out.print(f"{checked} checkpoint(s) checked: {'clean' if not problems else 'NOT clean'}")
    if problems:
        sys.exit(1)


@click.command("release")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--reason",
    required=True,
    type=TEXT,
    metavar="REASON",
    help="How the tampering was resolved.",
)
@db_option
@json_option
@click.pass_context
def release(ctx: click.Context, loan_id: str, reason: str, db: str | None, as_json: bool) -> None:
    """Take back loan LOAN_ID, quarantined for failing an integrity check: new events may be
    recorded for it again. Resolve the cause first (restore the events, drop the bad
    snapshot): `ledger audit verify LOAN_ID` quarantines it again if it still fails."""
    app = open_for(ctx, db)
    loan_uuid = loan_id_for(loan_id)
    if not integrity.release(app, loan_uuid):
        raise CliError(f"loan {loan_id} is not quarantined")
    if as_json:
        emit({"loan_id": loan_id, "released": True, "reason": reason})
    else:
        out.print(f"loan {loan_id} released: {reason}")
