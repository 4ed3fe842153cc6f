"""``ledger export NAME``: the book as CSV or JSON, streamed (see :mod:`ledger.read.exports`).

One command per registered export, made from the registry, so an export registered later
(the journal) is a command without a change here. The read models the export needs are
caught up first (unless ``--stale-ok``); a line on stderr says how many rows were written
and at which position of the event log the read model stood. A refused export (a bad
``--format``, a bad date, a date after the business date, ``--as-of`` where the read model
cannot honour it, an existing ``--out`` file without ``--force``) is one line, exit 2, and
writes nothing: no file, no event.
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import date
from typing import TextIO

import click

from ledger.cli.common import DATE, db_option, open_for, open_new_file
from ledger.cli.reading import stale_ok_option
from ledger.read.exports import EXPORTS, Export, ExportRun, open_export
from ledger.services.application import LedgerApp
from projections import Projections

STREAM_PAGE = 1_000


@click.group("export")
def export_group() -> None:
    """The book as CSV or JSON, for spreadsheets and auditors: one command per export. Each
    is streamed (memory does not grow with the book) and records no event."""


def _command(export: Export) -> click.Command:
    if export.as_of_means is not None:
        as_of_help = f"As of the end of business day DATE: {export.as_of_means}."
    else:
        as_of_help = f"Refused for this export: {export.no_as_of}."

    @click.command(export.name, help=f"Export {export.description}.")
    @click.option(
        "--format",
        "fmt_",
        type=click.Choice(export.formats),
        default=export.formats[0],
        show_default=True,
        help="csv: a header row, then a row per record; json: one JSON document, the rows "
        "in its `rows` array.",
    )
    @click.option("--as-of", "as_of", type=DATE, help=as_of_help)
    @click.option(
        "--out",
        "out_file",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Write to FILE (a new file; never through a symbolic link; removed again if the "
        "export fails) instead of stdout.",
    )
    @click.option("--force", is_flag=True, help="With --out: replace FILE if it exists.")
    @click.option(
        "--page",
        type=click.IntRange(1, 100_000),
        default=STREAM_PAGE,
        show_default=True,
        metavar="N",
        help="Rows per read from the database.",
    )
    @stale_ok_option
    @db_option
    @click.pass_context
    def command(
        ctx: click.Context,
        fmt_: str,
        as_of: date | None,
        out_file: str | None,
        force: bool,
        page: int,
        stale_ok: bool,
        db: str | None,
    ) -> None:
        app = open_for(ctx, db)
        _catch_up(app, export, stale_ok=stale_ok)
        run = open_export(app, export.name, fmt_, as_of, page=page)  # may refuse: nothing written
        try:
            if out_file is None:
                _write(run, sys.stdout)
            else:
                _write_file(run, out_file, replace=force)
        finally:
            run.close()
        click.echo(run.summary() + (f" to {out_file}" if out_file else ""), err=True)

    return command


def _catch_up(app: LedgerApp, export: Export, *, stale_ok: bool) -> None:
    projections = Projections(app)
    if not stale_ok:
        projections.catch_up(list(export.needs))
        return
    for status in projections.status(list(export.needs)):
        if status.lag:
            click.echo(
                f"note: projection {status.name} is {status.lag} events behind the log", err=True
            )


def _write(run: ExportRun, handle: TextIO) -> None:
    try:
        for chunk in run.chunks():
            handle.write(chunk)
        handle.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def _write_file(run: ExportRun, path: str, *, replace: bool) -> None:
    handle = open_new_file(path, replace=replace, newline="")
    try:
        with handle:
            _write(run, handle)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(path)  # half an export is worse than none
        raise


for _export in EXPORTS.values():
    export_group.add_command(_command(_export))
