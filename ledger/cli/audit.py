"""``ledger audit ...`` and ``ledger loan explain``: auditing a loan from the ledger alone."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ledger.cli.common import (
    DATE,
    LOAN_REF,
    CliError,
    StrictType,
    db_option,
    json_option,
    open_for,
    resolved_url,
)
from ledger.cli.lazy import LazyGroup
from ledger.cli.output import emit, out
from ledger.cli.reading import known_at_option, parse_moment
from ledger.domain.chain import chain_summary
from ledger.services import audit, integrity, parsing, verify_book
from ledger.services.explain import explain as explain_loan
from projections import Projections
from projections import verify as projection_check
from projections import verify_repair as projection_repair


@click.command("explain")
@click.argument("loan_id", type=LOAN_REF)
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="End of this business day, YYYY-MM-DD (default: the latest).",
)
@known_at_option
@db_option
@json_option
@click.pass_context
def explain(
    ctx: click.Context,
    loan_id: str,
    as_of: date | None,
    known_at: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Every figure of loan LOAN_ID's balance, broken into the events that built it, with the
    arithmetic and the rule; shows that the parts add up to the figure."""
    app = open_for(ctx, db)
    moment = parse_moment(known_at, app.business_date.zone)
    result = explain_loan(app, loan_id, as_of=as_of, known_at=moment)
    if as_json:
        emit(result)
        return
    out.print(
        f"[bold]Loan {result['loan_id']}[/bold] at the end of {result['as_of']}"
        + (f", as known at {result['known_at']}" if result["known_at"] else "")
        + f" (version {result['version']}, {result['status']})"
    )
    for name, figure in result["figures"].items():
        lines = figure.get("lines", [])
        table = Table(title=f"{name}: {figure['figure']}", title_justify="left")
        for c in ("v", "date", "event", "amount", "arithmetic", "rule"):
            table.add_column(c, justify="right" if c in ("v", "amount") else "left")
        for line in lines:
            table.add_row(
                str(line["version"]),
                line["date"],
                line["event"],
                line["amount"],
                line["arithmetic"],
                line["rule"],
            )
        if lines:
            out.print(table)
        else:
            out.print(f"[bold]{name}: {figure['figure']}[/bold]")
        extra = f"; {figure['rounded']}" if "rounded" in figure else ""
        mark = "adds up" if figure["adds_up"] else "DOES NOT ADD UP"
        out.print(f"  sum of the parts {figure['sum_of_parts']}{extra}: {mark}\n")
    for inst in result["unsettled_installments"]:
        out.print(
            f"  installment #{inst['k']} due {inst['due_date']}"
            + (f", overdue from {inst['overdue_from']}" if inst["overdue_from"] else "")
            + f": principal {inst['principal_owed']}, interest {inst['interest_owed']}, "
            f"penalty {inst['penalty']}"
        )
    out.print("every figure adds up" if result["adds_up"] else "[red]a figure does not add up")


@click.group(
    "audit",
    cls=LazyGroup,
    lazy={
        "checkpoint": "ledger.cli.integrity:checkpoint_group",
        "release": "ledger.cli.integrity:release",
        "report": "ledger.cli.dispute:report",
        "what-if": "ledger.cli.dispute:what_if",
    },
)
def audit_group() -> None:
    """Verify loans by replaying their facts, and ask what-if questions."""


SAMPLE = StrictType(
    "N", lambda v, w: parsing.integer_text(v, w, low=1, high=projection_check.MAX_SAMPLE)
)
JOBS = StrictType("N", lambda v, w: parsing.integer_text(v, w, low=1, high=verify_book.MAX_JOBS))
SEED = StrictType(
    "SEED", lambda v, w: parsing.integer_text(v, w, low=0, high=projection_check.MAX_SEED)
)


@audit_group.command("verify")
@click.argument("loan_id", required=False, type=LOAN_REF)
@click.option("--all", "all_loans", is_flag=True, help="Every loan in the store.")
@click.option(
    "--projections",
    "check_projections",
    is_flag=True,
    help="Verify the read models instead: recompute each loan's rows of balances, schedule, "
    "statements and portfolio from its events, in memory, and compare them with the stored "
    "ones (every loan, LOAN_ID, or --sample N).",
)
@click.option(
    "--jobs",
    type=JOBS,
    default="1",
    show_default=True,
    help=f"With --all: verify in N processes, each a partition of the loans (loan id mod N), "
    f"1 to {verify_book.MAX_JOBS}; the report is the same. One process uses one core.",
)
@click.option("--sample", type=SAMPLE, help="With --projections: N loans drawn at random.")
@click.option("--seed", type=SEED, help="With --sample: draw the same loans again.")
@click.option(
    "--repair",
    is_flag=True,
    help="With --projections: rewrite the rows of the loans found different from the events.",
)
@db_option
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    loan_id: str | None,
    all_loans: bool,
    check_projections: bool,
    jobs: int,
    sample: int | None,
    seed: int | None,
    repair: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Recompute every amount of loan LOAN_ID (or --all) from the facts with the rules and
    check the hash chain; with --projections, compare the stored read models with the events
    instead. Exit status 1 when anything differs."""
    if check_projections:
        if loan_id is not None and (all_loans or sample is not None):
            raise CliError("give at most one of LOAN_ID, --all and --sample")
        if seed is not None and sample is None:
            raise CliError("--seed goes with --sample")
        _verify_projections(ctx, db, loan_id, sample, seed, repair=repair, as_json=as_json)
        return
    if sample is not None or seed is not None or repair:
        raise CliError("--sample, --seed and --repair go with --projections")
    if all_loans == (loan_id is not None):
        raise CliError("give exactly one of LOAN_ID and --all")
    if jobs != 1 and not all_loans:
        raise CliError("--jobs goes with --all")
    if all_loans:
        _verify_book(ctx, db, jobs, as_json=as_json)
        return
    result = audit.verify_loan(open_for(ctx, db), str(loan_id))
    if as_json:
        emit({"loans": 1, "clean": result.clean, "checkpoints": [], "results": [result.as_dict()]})
    elif result.clean:
        out.print(
            f"loan {result.label}: {result.events} events replayed, hash chain "
            f"{chain_summary(result.unchained, result.events)}: clean"
        )
    else:
        _print_not_clean(result)
    if not as_json:
        out.print(f"1 loan(s) verified, {0 if result.clean else 1} with discrepancies")
    if not result.clean:
        sys.exit(1)


def _verify_book(ctx: click.Context, db: str | None, jobs: int, *, as_json: bool) -> None:
    """``verify --all``: the loans that are not clean printed as they are found (in loan id
    order, whatever the jobs), then the checkpoints, then the count; only the failures are
    kept (for ``--json``). Exit status 1 when anything differs."""
    app = open_for(ctx, db)
    url = resolved_url(ctx, db)
    tally = verify_book.Tally()
    dirty: list[dict[str, Any]] = []  # --json: the failures, as they are reported
    failures = 0
    for result in verify_book.not_clean(app, tally, jobs=jobs, url=url):
        failures += 1
        if as_json:
            dirty.append(result.as_dict())
        else:
            _print_not_clean(result)
    checkpoints = integrity.checkpoint_problems(app)
    if as_json:
        clean = not failures and not checkpoints
        emit({"loans": tally.loans, "clean": clean, "checkpoints": checkpoints, "results": dirty})
    else:
        for problem in checkpoints:
            out.print(f"[red]checkpoints:[/red] {problem}", highlight=False)
        out.print(f"{tally.loans} loan(s) verified, {failures} with discrepancies")
    if failures or checkpoints:
        sys.exit(1)


def _print_not_clean(r: audit.Verification) -> None:
    out.print(f"[red]loan {r.label}: NOT clean[/red]")
    if r.broken_link:
        out.print(f"  hash chain broken first at version {r.broken_link[0]}: {r.broken_link[1]}")
    for problem in r.integrity:
        out.print(f"  {problem}", markup=False, highlight=False)
    if r.tampered:
        out.print(f"  quarantined: no new events until `ledger audit release {r.label}`")
    for d in r.discrepancies[:20]:
        out.print(
            f"  version {d.version} {d.event}.{d.field}: recorded {d.recorded}, "
            f"recomputed {d.recomputed}",
            markup=False,
            highlight=False,
        )
    if len(r.discrepancies) > 20:
        out.print(f"  ... {len(r.discrepancies) - 20} more (see --json)")


def _verify_projections(
    ctx: click.Context,
    db: str | None,
    loan_id: str | None,
    sample: int | None,
    seed: int | None,
    *,
    repair: bool,
    as_json: bool,
) -> None:
    """``verify --projections``: every difference between the stored read models and the
    events (:mod:`projections.verify`); exit status 1 when there is one."""
    projections = Projections(open_for(ctx, db))
    check = projection_check.verify_projections(projections, loan=loan_id, sample=sample, seed=seed)
    if repair and not check.clean:
        projection_repair.repair(projections, check)
    if as_json:
        emit(check.as_dict())
    else:
        _print_projection_check(check)
    if not check.clean:
        sys.exit(1)


def _print_projection_check(check: projection_check.ProjectionsCheck) -> None:
    drawn = check.sample
    which = ""
    if drawn:
        which = f", a sample of {drawn['size']} of {drawn['of']} (seed {drawn['seed']})"
    out.print(
        f"Projections against the events: {check.loans} loan(s){which}",
        markup=False,
        highlight=False,
    )
    if check.differences:
        table = Table(title="Stored rows that differ from the events (amounts in fen)")
        for c in ("projection", "loan", "row", "column", "stored", "recomputed"):
            # names kept whole; a long loan id or value folded (over 60 characters: --json)
            kept = c in ("projection", "row", "column")
            table.add_column(c, no_wrap=kept, overflow="ellipsis" if kept else "fold")
        for d in check.differences[:50]:
            values = (d.projection, d.loan, d.row, d.column, d.stored, d.recomputed)
            table.add_row(*(Text(_short(v)) for v in values))
        out.print(table)
        if len(check.differences) > 50:
            out.print(f"... {len(check.differences) - 50} more (see --json)")
    for name in sorted(check.rebuilding):
        out.print(f"{name}: being rebuilt, not compared", markup=False)
    for what, notes in (("behind the log", check.behind), ("quarantined", check.quarantined)):
        counts = Counter(n.projection for n in notes)
        for name, n in sorted(counts.items()):
            out.print(f"{name}: {n} loan(s) {what}, not counted as differences", markup=False)
    if check.repaired is not None:
        again = "clean" if check.after_repair is None or check.after_repair.clean else "NOT clean"
        out.print(
            f"repaired {len(check.repaired)} (projection, loan) pair(s); verified again: {again}",
            markup=False,
        )
    loans = len(check.dirty_loans())
    out.print(
        "clean"
        if check.clean
        else f"[red]{len(check.differences)} difference(s) in {loans} loan(s)[/red]"
    )


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
