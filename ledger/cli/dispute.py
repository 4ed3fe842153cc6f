"""``ledger audit what-if`` and ``ledger audit report``: the questions of a dispute (what
would the loan have cost under other terms; everything about it in one report)."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ledger.cli.common import (
    LOAN_REF,
    CliError,
    db_option,
    json_option,
    open_for,
    write_new_file,
)
from ledger.cli.output import emit, out
from ledger.services import audit


@click.command("what-if")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="TERM=VALUE",
    help=f"Another value for a term ({', '.join(audit.WHAT_IF_TERMS)}).",
)
@db_option
@json_option
@click.pass_context
def what_if(
    ctx: click.Context, loan_id: str, settings: tuple[str, ...], db: str | None, as_json: bool
) -> None:
    """Replay loan LOAN_ID's facts under other terms: what was charged and what would have
    been, per installment and in total. Writes nothing."""
    changes: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--set {item!r}: expected TERM=VALUE")
        changes[name.strip()] = value.strip()
    result = audit.what_if(open_for(ctx, db), loan_id, changes)
    if as_json:
        emit(result)
        return
    table = Table(
        title=f"What if {', '.join(f'{k}={v}' for k, v in changes.items()) or '(no change)'}"
    )
    for c in ("installment", "charged", "would have been", "difference"):
        table.add_column(c, justify="right")
    for row in result["installments"]:
        label = "accrued / prepaid" if row["k"] == 0 else f"#{row['k']}"
        table.add_row(
            label,
            _parts(row["charged"]),
            _parts(row["would_have_been"]),
            row["difference"],
        )
    t = result["total"]
    table.add_row("total", _parts(t["charged"]), _parts(t["would_have_been"]), t["difference"])
    out.print(table)
    for note in result["notes"]:
        out.print(f"note: {note}", markup=False)


@click.command("report")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["md", "json", "html"]),
    default="md",
    show_default=True,
    help="Markdown, JSON or a self-contained HTML page.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE (a new file; never through a symbolic link).",
)
@click.option("--force", is_flag=True, help="With --out: replace FILE if it exists.")
@db_option
@click.pass_context
def report(
    ctx: click.Context,
    loan_id: str,
    fmt_: str,
    out_file: str | None,
    force: bool,
    db: str | None,
) -> None:
    """The dispute report of loan LOAN_ID: terms, schedule, every charge with its arithmetic,
    money received, corrections, verification and the annualised cost against the caps
    ($LEDGER_RATE_CAPS, $LEDGER_LPR)."""
    from ledger.adapters.config import RateCaps
    from ledger.read import report as reports
    from ledger.read import report_render

    caps = RateCaps.from_env()
    data = reports.build(open_for(ctx, db), loan_id, caps)
    if fmt_ == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False)
    elif fmt_ == "html":
        text = report_render.html_page(data)
    else:
        text = report_render.markdown(data)
    if out_file:
        write_new_file(out_file, text, replace=force)
        click.echo(f"wrote {out_file}", err=True)
    else:
        click.echo(text)


def _parts(p: dict[str, str]) -> str:
    return f"{p['total']} (i {p['interest']}, p {p['penalty']}, f {p['fee']})"
